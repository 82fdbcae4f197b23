"""Payments platform on AWS (us-east-1): the Pulumi program's entry point.

Loads and validates the stack's settings (payments_infra/config/), resolves the zones and the
Aurora version, builds ``PaymentsPlatform`` (payments_infra/components/platform.py, which reads
like the diagram) and exports the declared outputs (payments_infra/components/outputs.py).
What it builds: docs/architecture.md. How to run it: the README.
"""

import pulumi
import pulumi_aws as aws

from payments_infra.aws.provider import (
    cloudfront_prefix_list_id,
    create_aws_provider,
    resolve_engine_version,
    resolve_zones,
)
from payments_infra.components.frontend.site import load_site
from payments_infra.components.outputs import export_outputs
from payments_infra.components.platform import PaymentsPlatform, PaymentsPlatformArgs
from payments_infra.config import Ingress, load_stack_config

config = load_stack_config()
site_files = load_site(config.frontend.dist_dir)  # before any resource: no empty site
provider = create_aws_provider(config)
account_id = aws.get_caller_identity_output(opts=pulumi.InvokeOutputOptions(provider=provider))
# Who runs `pulumi up`, as its role's ARN when it runs as a session of one: a custodian of the
# keys and the secrets (payments_infra/aws/access.py), so it never locks itself out.
caller = aws.iam.get_session_context_output(
    arn=account_id.arn, opts=pulumi.InvokeOutputOptions(provider=provider)
)
zones = resolve_zones(config, provider)  # by zone ID, leaving out limited ones

platform = PaymentsPlatform(
    "payments",
    PaymentsPlatformArgs(
        config=config,
        availability_zones=[zone.name for zone in zones],
        availability_zone_ids=[zone.zone_id for zone in zones],
        account_id=account_id.account_id,
        caller_arn=caller.issuer_arn,
        db_engine=resolve_engine_version(config, provider),
        site_files=site_files,
        cloudfront_prefix_list_id=(
            cloudfront_prefix_list_id(provider)
            if config.service.ingress == Ingress.CLOUDFRONT
            else None
        ),
    ),
    opts=pulumi.ResourceOptions(providers=[provider]),
)

export_outputs(platform)  # declared, with descriptions, in payments_infra/components/outputs.py
