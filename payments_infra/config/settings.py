"""Every setting of the stack, declared once: key, type, default, rule, description, parser.

``SETTINGS`` lists them in the order the docs show them; the rules over several keys are in
``cross_rules.py``, the limits and parsers in ``limits.py``. ``stack_config.py`` reads them into
a ``StackConfig``; ``docs.py`` writes the docs/settings.md table and the ``template.config``
block of ``Pulumi.yaml`` from them.

Why not pydantic(-settings), as the API does: the messages are this project's own
(``<key> must <rule>; got <value>``), so every field would need a custom validator and every
error would need rewriting from pydantic's (``Value error, ...``); a model validator across
keys does not run once a field has failed, so "every problem at once" (a capacity out of range
*and* above the maximum) would be lost; and the keys are ``namespace:camelCase``, an alias per
field. What pydantic would add is the parsing of a handful of scalars, done below in a few lines.
"""

from __future__ import annotations

import ipaddress
from typing import Any

from payments_infra.aws.naming import MAX_SUFFIX_LENGTH, SUFFIX_KEY
from payments_infra.config.choices import (
    CpuArchitecture,
    Environment,
    Ingress,
    LogArchive,
    LogDelivery,
    PriceClass,
)
from payments_infra.config.limits import (
    ACM_ARN,
    AZ_COUNT,
    DNS_NAME,
    FARGATE_SIZES,
    MAX_VPC_PREFIX,
    MIN_DB_MAJOR,
    MIN_VPC_PREFIX,
    REQUIRED_REGION,
    _capacity,
    _egress_destinations,
    _emails,
    _engine_version,
    _optional,
    _region,
    _suffix,
    _vpc_cidr,
    _zones,
)
from payments_infra.config.setting import (
    CreationOnly,
    Setting,
    any_text,
    choice_rule,
    one_of,
    text_matching,
    text_where,
    true_or_false,
    whole_number,
    whole_number_from,
)

# -- the settings, in the order of the docs ----------------------------------------------------

ENVIRONMENT_SUFFIX: Setting[str] = Setting(
    key=SUFFIX_KEY,
    type="string",
    default="",
    required=True,
    rule="lowercase letters, digits and single hyphens; starts with a letter; at most "
    f"{MAX_SUFFIX_LENGTH} characters, so that every derived name fits its AWS limit (naming.py)",
    description="Ends every physical name, `{resource-type}-{environmentSuffix}`. "
    "Must make S3 bucket names globally unique.",
    parse=_suffix,
    creation_only=CreationOnly(
        "every physical name ends in it, and a new name is a new resource: the Aurora "
        "cluster (`cluster_identifier`) and its instances, every bucket (`bucket`), log group "
        "and secret (`name`) and the ECR repository (`name`) would be replaced by empty ones"
    ),
)
ENVIRONMENT: Setting[Environment] = Setting(
    key="payments:environment",
    type="string",
    default=Environment.PRODUCTION,
    rule=choice_rule(Environment),
    description="What the stack is for: the `Environment` tag on every resource (cost "
    "reports, policies and people tell the stacks apart by it). One AWS account per "
    "environment (docs/environments.md).",
    parse=one_of(Environment),
)
REGION: Setting[str] = Setting(
    key="aws:region",
    type="string",
    default=REQUIRED_REGION,
    required=True,
    rule=REQUIRED_REGION,
    description="AWS region. The platform is built and priced for us-east-1 only.",
    parse=_region,
)
ACCOUNT_ID: Setting[str | None] = Setting(
    key="payments:accountId",
    type="string",
    default=None,
    shown_default="(any account)",
    blank_is_unset=True,
    rule="the 12 digits of an AWS account id",
    description="The only AWS account this stack may deploy into: the stack's AWS provider "
    "refuses credentials of any other (allowed_account_ids), and the preflight of `make up` "
    "says so before anything starts. Set it on every real stack (docs/deploy.md, production "
    "checklist): credentials of the wrong account would otherwise build a second copy there.",
    parse=text_matching(r"[0-9]{12}"),
)
VPC_CIDR: Setting[ipaddress.IPv4Network] = Setting(
    key="payments:vpcCidr",
    type="string",
    default=ipaddress.IPv4Network("10.0.0.0/16"),
    rule=f"an RFC 1918 IPv4 network from /{MIN_VPC_PREFIX} to /{MAX_VPC_PREFIX}",
    description="VPC address range. Private subnets get a quarter each, public subnets "
    "a sixteenth each.",
    parse=_vpc_cidr,
    creation_only=CreationOnly(
        "it is the `cidr_block` of the VPC and of every subnet, which cannot change in place: "
        "a new VPC and subnets, while AWS will not move the running database's subnet group "
        "and security group into them"
    ),
)
AVAILABILITY_ZONES: Setting[tuple[str, ...] | None] = Setting(
    key="payments:availabilityZones",
    type=f"list of {AZ_COUNT} strings",
    default=None,  # look the zones up (provider.resolve_zones)
    shown_default=f"first {AZ_COUNT} available zones of the region by name (opt-in not "
    "required), leaving out the zone IDs known to lack what the stack needs (use1-az3)",
    rule=f"exactly {AZ_COUNT} distinct zone names of {REQUIRED_REGION}, e.g. us-east-1a",
    description="Pin the zones, e.g. to avoid a zone that lacks capacity for the "
    "instance types you need, or to keep the zones a stack was built in. Otherwise the stack "
    "looks them up by zone ID (provider.LIMITED_ZONE_IDS says which it leaves out and why).",
    parse=_zones,
    creation_only=CreationOnly(
        "it is the `availability_zone` of every subnet and of the Aurora writer and reader, "
        "which cannot change in place: other zones replace both instances and the subnets the "
        "database uses; unset, the zones the look-up chooses must stay those the stack was "
        "built in (the `availability_zones` output)"
    ),
)
DB_ENGINE_VERSION: Setting[str] = Setting(
    key="payments:dbEngineVersion",
    type="string",
    default="17",
    rule=f"an Aurora PostgreSQL version such as 17 or 17.6, major {MIN_DB_MAJOR} or newer",
    description="A major version takes the region's default minor version for it at "
    "creation; Aurora applies later minor versions itself in the maintenance window.",
    parse=text_where(_engine_version),
    creation_only=CreationOnly(
        "its major version (the minor may change) picks the cluster parameter group's "
        "`family`, which cannot change in place, while the program leaves the cluster's "
        "`engine_version` to Aurora: a major upgrade is an RDS operation, not a setting",
        part=lambda version: str(version).split(".", 1)[0],
    ),
)
DB_MIN_CAPACITY: Setting[float] = Setting(
    key="payments:dbMinCapacity",
    type="number (ACU)",
    default=1.0,
    rule="0.5 to 256 in steps of 0.5",
    description="Aurora Serverless v2 floor of the writer and the reader (1 ACU is about "
    "2 GiB of memory). The reader scales with the writer, so a failover lands warm.",
    parse=_capacity(0.5),
)
DB_MAX_CAPACITY: Setting[float] = Setting(
    key="payments:dbMaxCapacity",
    type="number (ACU)",
    default=16.0,
    rule="1.0 to 256 in steps of 0.5",
    description="Aurora Serverless v2 ceiling: caps the cost of a load spike.",
    parse=_capacity(1.0),
)
DB_BACKUP_RETENTION_DAYS: Setting[int] = Setting(
    key="payments:dbBackupRetentionDays",
    type="integer",
    default=7,
    # A week at least (time to notice and recover); 35 is the most AWS keeps.
    rule="a whole number from 7 to 35",
    description="Days of automated backups and point-in-time recovery.",
    parse=whole_number_from(7, 35),
)
DB_ROTATION_DAYS: Setting[int] = Setting(
    key="payments:dbRotationDays",
    type="integer",
    default=30,
    rule="0 (off) or a whole number from 1 to 365",
    description="Rotate the master password every N days with the stack's own rotation "
    "function, which keeps every key of the secret (url included) consistent. 0 turns "
    "rotation off, with a warning in the plan (PCI DSS 8.3.9).",
    parse=whole_number_from(0, 365),
)
PROTECT_DATA: Setting[bool] = Setting(
    key="payments:protectData",
    type="boolean",
    default=False,
    rule="true or false",
    description="Keep the database through any destroy: Aurora deletion protection and a "
    "final snapshot on delete, Pulumi's `protect` on the cluster, its KMS key (and alias) "
    "and the database secret, and a 7-day recovery window for the secret. `make down` then "
    "refuses and names the steps (keep the data, turn this off and commit it, `make up`, "
    "`make down`: docs/deploy.md, Protecting the data). Off, every stack destroys with no "
    "manual step; a production stack turns it on.",
    parse=true_or_false,
)
_DNS_NAME_RULE = "a lowercase DNS name such as pay.example.com"
_ACM_ARN_RULE = (
    "an ACM certificate ARN in us-east-1 (arn:aws:acm:us-east-1:<account>:certificate/<id>)"
)
DOMAIN_NAME: Setting[str | None] = _optional(
    "payments:domainName",
    rule=_DNS_NAME_RULE,
    description="Certificate mode 1: a name you control. ACM certificates validated in "
    "Route 53 for `api.<domain>` (ALB) and `<domain>` (CloudFront), and the alias records.",
    parse=text_matching(DNS_NAME),
)
HOSTED_ZONE_ID: Setting[str | None] = _optional(
    "payments:hostedZoneId",
    rule="a Route 53 zone id (Z...)",
    description="The public hosted zone of payments:domainName, which the validation and "
    "alias records go into.",
    parse=text_matching(r"Z[A-Z0-9]{1,31}"),
)
CERTIFICATE_ARN: Setting[str | None] = _optional(
    "payments:certificateArn",
    rule=_ACM_ARN_RULE,
    description="Certificate mode 2: an existing certificate for the ALB.",
    parse=text_matching(ACM_ARN),
)
CLOUDFRONT_CERTIFICATE_ARN: Setting[str | None] = _optional(
    "payments:cloudfrontCertificateArn",
    rule=_ACM_ARN_RULE,
    description="Mode 2: an existing certificate for CloudFront's own name "
    "(payments:siteDomainName).",
    parse=text_matching(ACM_ARN),
)
SITE_DOMAIN_NAME: Setting[str | None] = _optional(
    "payments:siteDomainName",
    rule=_DNS_NAME_RULE,
    description="Mode 2: the site's own name on CloudFront, covered by "
    "payments:cloudfrontCertificateArn (you point it at the distribution).",
    parse=text_matching(DNS_NAME),
)
API_DOMAIN_NAME: Setting[str | None] = _optional(
    "payments:apiDomainName",
    rule=_DNS_NAME_RULE,
    description="Mode 2: a name covered by payments:certificateArn (pointed at the ALB by "
    "you) that CloudFront uses to reach /api over verified HTTPS.",
    parse=text_matching(DNS_NAME),
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
WEB_DIST_DIR: Setting[str] = Setting(
    key="payments:webDistDir",
    type="string",
    default="app/web/dist",
    rule="a folder holding the built web app (index.html); relative to the project",
    description="What the stack uploads to the frontend bucket. `make up` builds it first.",
    parse=any_text,  # site.load_site checks it, before any resource exists
)
PRICE_CLASS: Setting[PriceClass] = Setting(
    key="payments:priceClass",
    type="string",
    default=PriceClass.PRICE_CLASS_100,
    rule=choice_rule(PriceClass),
    description="CloudFront edge locations: 100 (North America, Europe) is the cheapest.",
    parse=one_of(PriceClass),
)
WAF_RATE_LIMIT: Setting[int] = Setting(
    key="payments:wafRateLimit",
    type="integer",
    default=2000,
    rule="100 to 2000000",
    description="Requests per client IP per 5 minutes above which WAF blocks the IP for a "
    "while (rate-based rule), in CloudFront's web ACL and in the ALB's.",
    parse=whole_number(lambda limit: 100 <= limit <= 2_000_000),
)
ALERT_EMAILS: Setting[tuple[str, ...]] = Setting(
    key="payments:alertEmails",
    type="list of strings",
    default=(),
    shown_default="[] (no subscriptions)",
    rule="a list of e-mail addresses",
    description="Subscribed to the alerts topic; each must confirm AWS's e-mail.",
    parse=_emails,
)
ALB_ACCESS_LOG_DELIVERY: Setting[LogDelivery] = Setting(
    key="payments:albAccessLogDelivery",
    type="string",
    default=LogDelivery.FORWARDER,
    rule=choice_rule(LogDelivery),
    description="How ALB access logs reach CloudWatch: the stack's Lambda forwarder (works "
    "for certain), or CloudWatch vended-log delivery (see docs/architecture.md, ALB access "
    "logs, for its caveat).",
    parse=one_of(LogDelivery),
)
LOG_ARCHIVE: Setting[LogArchive] = Setting(
    key="payments:logArchive",
    type="string",
    default=LogArchive.NONE,
    rule=choice_rule(LogArchive),
    description="s3: also copy every log group to an S3 archive kept 365 days (PCI DSS "
    "10.5.1), through subscription filters and Firehose. Costs grow with log volume.",
    parse=one_of(LogArchive),
)

VPC_ENDPOINTS: Setting[bool] = Setting(
    key="payments:vpcEndpoints",
    type="boolean",
    default=True,
    rule="true or false",
    description="Interface VPC endpoints for what the tasks and functions call (ECR, "
    "CloudWatch Logs, Secrets Manager, KMS, STS), so the tasks' security group sends only "
    "to the endpoints, the S3 prefix list, the database and payments:egressAllowList. "
    "false saves their hourly price (docs/cost.md) and lets the tasks out to any HTTPS "
    "address through the NAT gateways.",
    parse=true_or_false,
)
EGRESS_ALLOW_LIST: Setting[tuple[tuple[ipaddress.IPv4Network, int], ...]] = Setting(
    key="payments:egressAllowList",
    type="JSON list",
    default=(),
    shown_default="[] (none)",
    rule='a JSON list of "<public IPv4 CIDR, /16 or narrower>:<port>", e.g. ["52.94.10.0/24:443"]',
    description="Internet destinations the API really needs (its payment processor), "
    "reached through the NAT gateways; with payments:vpcEndpoints the tasks may send "
    "nowhere else outside the VPC (PCI DSS 1.3.2).",
    parse=_egress_destinations,
)
ACCOUNT_CONTROLS: Setting[bool] = Setting(
    key="payments:accountControls",
    type="boolean",
    default=False,
    rule="true or false",
    description="Create the account-wide controls the compliance map leans on: CloudTrail, "
    "GuardDuty, Security Hub with the PCI DSS standard, AWS Config. One per account, often "
    "run by the organisation already: off by default, and refused when the account has one "
    "(docs/security.md).",
    parse=true_or_false,
)

SETTINGS: tuple[Setting[Any], ...] = (
    ENVIRONMENT_SUFFIX,
    ENVIRONMENT,
    REGION,
    ACCOUNT_ID,
    VPC_CIDR,
    AVAILABILITY_ZONES,
    DB_ENGINE_VERSION,
    DB_MIN_CAPACITY,
    DB_MAX_CAPACITY,
    DB_BACKUP_RETENTION_DAYS,
    DB_ROTATION_DAYS,
    PROTECT_DATA,
    DOMAIN_NAME,
    HOSTED_ZONE_ID,
    CERTIFICATE_ARN,
    CLOUDFRONT_CERTIFICATE_ARN,
    SITE_DOMAIN_NAME,
    API_DOMAIN_NAME,
    API_IMAGE,
    API_IMAGE_TAG,
    API_CPU,
    API_MEMORY,
    API_CPU_ARCHITECTURE,
    ALB_TLS_POLICY,
    ALB_INGRESS,
    ECR_KEEP_IMAGES,
    WEB_DIST_DIR,
    PRICE_CLASS,
    WAF_RATE_LIMIT,
    ALERT_EMAILS,
    ALB_ACCESS_LOG_DELIVERY,
    LOG_ARCHIVE,
    VPC_ENDPOINTS,
    EGRESS_ALLOW_LIST,
    ACCOUNT_CONTROLS,
)
