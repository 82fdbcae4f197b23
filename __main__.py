"""Payments platform on AWS (us-east-1).

Deploys, for the stack's ``payments:environmentSuffix``:
- a VPC over three availability zones: public and private subnets, an internet gateway,
  one NAT gateway per zone, per-zone private routing, flow logs (30 days), a locked default
  security group and an S3 gateway endpoint;
- Aurora PostgreSQL (Serverless v2 writer and reader in two zones), encrypted with its own
  KMS key, TLS forced, logs exported to a 30-day log group, and its credentials and
  connection URL in a Secrets Manager secret.

Every resource is named ``{resource-type}-{environmentSuffix}``, tagged
Environment=production and CostCenter=payments, and destroyable with ``pulumi destroy``.
The next tiers (ECS behind an ALB, CloudFront, observability) plug into
``PaymentsPlatform``; see the README.
"""

import pulumi
import pulumi_aws as aws

from payments_infra.config import load_stack_config
from payments_infra.platform import PaymentsPlatform, PaymentsPlatformArgs
from payments_infra.provider import (
    create_aws_provider,
    resolve_availability_zones,
    resolve_engine_version,
)

config = load_stack_config()
provider = create_aws_provider(config)
account_id = aws.get_caller_identity_output(opts=pulumi.InvokeOutputOptions(provider=provider))

platform = PaymentsPlatform(
    "payments",
    PaymentsPlatformArgs(
        config=config,
        availability_zones=resolve_availability_zones(config, provider),
        account_id=account_id.account_id,
        db_engine=resolve_engine_version(config, provider),
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
