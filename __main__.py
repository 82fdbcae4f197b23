"""Payments platform on AWS (us-east-1).

Deploys, for the stack's ``payments:environmentSuffix``:
- a VPC over three availability zones: public and private subnets, an internet gateway,
  one NAT gateway per zone, per-zone private routing, flow logs (30 days), a locked default
  security group and an S3 gateway endpoint;
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
Environment=production and CostCenter=payments, and destroyable with ``pulumi destroy``.
The README is the handbook.
"""

import pulumi
import pulumi_aws as aws

from payments_infra.config import load_stack_config
from payments_infra.frontend import load_site
from payments_infra.platform import PaymentsPlatform, PaymentsPlatformArgs
from payments_infra.provider import (
    cloudfront_prefix_list_id,
    create_aws_provider,
    resolve_availability_zones,
    resolve_engine_version,
)

config = load_stack_config()
site_files = load_site(config.frontend.dist_dir)  # before any resource: no empty site
provider = create_aws_provider(config)
account_id = aws.get_caller_identity_output(opts=pulumi.InvokeOutputOptions(provider=provider))

platform = PaymentsPlatform(
    "payments",
    PaymentsPlatformArgs(
        config=config,
        availability_zones=resolve_availability_zones(config, provider),
        account_id=account_id.account_id,
        db_engine=resolve_engine_version(config, provider),
        site_files=site_files,
        cloudfront_prefix_list_id=(
            cloudfront_prefix_list_id(provider) if config.service.ingress == "cloudfront" else None
        ),
    ),
    opts=pulumi.ResourceOptions(providers=[provider]),
)

network = platform.network
pulumi.export("availability_zones", network.availability_zones)
pulumi.export("vpc_id", network.vpc_id)
pulumi.export("public_subnet_ids", network.public_subnet_ids)
pulumi.export("private_subnet_ids", network.private_subnet_ids)
pulumi.export("nat_gateway_ids", network.nat_gateway_ids)
pulumi.export("flow_log_group_name", network.flow_log_group.name)

database = platform.database
pulumi.export("db_cluster_endpoint", database.cluster_endpoint)
pulumi.export("db_cluster_reader_endpoint", database.cluster_reader_endpoint)
pulumi.export("db_security_group_id", database.security_group_id)
pulumi.export("db_secret_arn", database.secret_arn)

api = platform.service
pulumi.export("certificate_mode", platform.certificates.mode)
pulumi.export("api_url", api.api_url)
pulumi.export("alb_dns_name", api.alb_dns_name)
pulumi.export("alb_logs_bucket", api.log_bucket.bucket)
pulumi.export("ecs_cluster_name", api.cluster_name)
pulumi.export("ecs_service_name", api.service_name)
if platform.certificates.api_certificate_pem is not None:
    # Public: lets a client trust the demo certificate instead of turning verification off.
    pulumi.export("api_certificate_pem", platform.certificates.api_certificate_pem)

frontend = platform.frontend
pulumi.export("site_url", frontend.site_url)
pulumi.export("distribution_id", frontend.distribution_id)
pulumi.export("frontend_bucket", frontend.bucket_name)
pulumi.export("alerts_topic_arn", platform.observability.topic_arn)
pulumi.export("alb_access_log_group", platform.observability.access_log_group.name)
