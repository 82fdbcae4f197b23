"""The settings of the API service (``StackConfig.service``), declared once each: the image it
runs, the tasks' size and CPU, the ALB's TLS policy and who may reach it, and how many images
the repository keeps (settings.py says how a declaration reads, and lists every setting).
"""

from __future__ import annotations

from payments_infra.config.choices import (
    CpuArchitecture,
    Ingress,
)
from payments_infra.config.limits import FARGATE_SIZES
from payments_infra.config.setting import (
    Setting,
    choice_rule,
    one_of,
    text_matching,
    whole_number,
)

API_IMAGE: Setting[str | None] = Setting(
    key="payments:apiImage",
    type="string",
    default=None,
    shown_default="(build app/api)",
    blank_is_unset=True,
    rule="an image reference with a tag or digest, e.g. "
    "123456789012.dkr.ecr.us-east-1.amazonaws.com/api:1.2",
    description="An image from outside the stack, prebuilt. Without it `pulumi up` builds "
    "app/api with Docker and pushes it to the stack's ECR repository. Setting it on a deployed "
    "stack deletes that repository and every image in it (nothing of the stack needs it "
    "then): to run an earlier image of the stack's own, use payments:apiImageTag.",
    parse=text_matching(r"[a-z0-9][a-z0-9._/:-]*(:[\w.-]+|@sha256:[0-9a-f]{64})"),
)
API_IMAGE_TAG: Setting[str | None] = Setting(
    key="payments:apiImageTag",
    type="string",
    default=None,
    shown_default="(build app/api)",
    blank_is_unset=True,
    rule="an image tag (1-128 of A-Z a-z 0-9 _ . -, not starting with . or -) or a digest "
    "sha256:<64 hex>",
    description="Roll back: run this earlier image of the stack's own ECR repository "
    "(api-<suffix>), by tag (src-<hash>-<commit>-<platform>) or digest. The repository and "
    "its key stay, nothing is built; remove it to build app/api again (docs/deploy.md, "
    "Rolling back).",
    parse=text_matching(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}|sha256:[0-9a-f]{64}"),
)
API_CPU: Setting[int] = Setting(
    key="payments:apiCpu",
    type="integer (CPU units)",
    default=512,
    rule=f"one of {', '.join(map(str, FARGATE_SIZES))}",
    description="Task CPU. One uvicorn worker uses at most one vCPU; half of one "
    "serves the reference API's load, and autoscaling adds tasks.",
    parse=whole_number(lambda cpu: cpu in FARGATE_SIZES),
)
API_MEMORY: Setting[int] = Setting(
    key="payments:apiMemory",
    type="integer (MiB)",
    default=1024,
    rule="a whole number",
    description="Task memory.",
    parse=whole_number(),
)
API_CPU_ARCHITECTURE: Setting[CpuArchitecture] = Setting(
    key="payments:apiCpuArchitecture",
    type="string",
    default=CpuArchitecture.ARM64,
    rule=choice_rule(CpuArchitecture),
    description="Graviton (ARM64) costs about 20% less per vCPU-hour; the image builds for both.",
    parse=one_of(CpuArchitecture),
)
ALB_TLS_POLICY: Setting[str] = Setting(
    key="payments:albTlsPolicy",
    type="string",
    # AWS's recommended ALB policy when last checked ("describe-ssl-policies" page): TLS 1.3
    # and 1.2 with post-quantum key exchange. The API's own default is still the 2016 policy.
    default="ELBSecurityPolicy-TLS13-1-2-Res-PQ-2025-09",
    rule="an ELB security policy with TLS 1.3 (ELBSecurityPolicy-TLS13-...)",
    description="TLS policy of the HTTPS listener.",
    parse=text_matching(r"ELBSecurityPolicy-TLS13-[A-Za-z0-9-]+"),
)
ALB_INGRESS: Setting[Ingress] = Setting(
    key="payments:albIngress",
    type="string",
    default=Ingress.INTERNET,
    rule=choice_rule(Ingress),
    description="Who may reach the ALB on 443: anyone (the API's paths, behind the ALB's own "
    "WAF), or only CloudFront: its origin-facing addresses (managed prefix list) and, since "
    "those admit every distribution, only requests with this stack's secret origin header.",
    parse=one_of(Ingress),
)
ECR_KEEP_IMAGES: Setting[int] = Setting(
    key="payments:ecrKeepImages",
    type="integer",
    default=20,
    rule="1 to 1000",
    description="How many images the ECR repository keeps; older ones expire.",
    parse=whole_number(lambda keep: 1 <= keep <= 1000),
)
