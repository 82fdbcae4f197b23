"""Payments platform on AWS (us-east-1).

Deploys, for the stack's ``payments:environmentSuffix``:
- a VPC over three availability zones: public and private subnets, an internet gateway,
  one NAT gateway per zone, per-zone private routing, flow logs (30 days), a locked default
  security group, an S3 gateway endpoint and (payments:vpcEndpoints, default on) interface
  endpoints for ECR, CloudWatch Logs, Secrets Manager, KMS and STS, the only AWS APIs the tasks
  may reach;
- Aurora PostgreSQL (Serverless v2 writer and reader in two zones), encrypted with its own
  KMS key, TLS forced, logs exported to a 30-day log group, and its credentials and
  connection URL in a Secrets Manager secret;
- the API on ECS Fargate (3 to 10 tasks, CPU 70% / memory 80% target tracking) in the
  private subnets behind an HTTPS-only ALB (TLS 1.3 policy, access logs), with its
  certificate from ACM (DNS-validated, existing, or a self-signed demo one);
- the React app in a private S3 bucket behind CloudFront (Origin Access Control, WAF,
  security headers, /api to the ALB when a certificate allows it), access logs in
  CloudWatch;
- observability: every log group encrypted with one KMS key and kept 30 days, ALB access
  logs shipped into CloudWatch, alarms to an SNS topic, one dashboard.

Every resource is named ``{resource-type}-{environmentSuffix}``, tagged
Environment=<payments:environment> (production by default) and CostCenter=payments, and
destroyable with ``pulumi destroy``.
Settings are declared in payments_infra/config/, outputs in payments_infra/components/outputs.py.
The README is the handbook.
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
zones = resolve_zones(config, provider)  # by zone ID, leaving out limited ones

platform = PaymentsPlatform(
    "payments",
    PaymentsPlatformArgs(
        config=config,
        availability_zones=[zone.name for zone in zones],
        availability_zone_ids=[zone.zone_id for zone in zones],
        account_id=account_id.account_id,
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
