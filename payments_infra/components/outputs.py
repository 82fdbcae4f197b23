"""The stack's outputs, declared once: name, description, and where the value comes from.

``__main__.py`` exports ``OUTPUTS``; docs/settings.md's outputs table is generated from them
(``make docs``). Names end in what the value is: ``_id``/``_ids``, ``_arn``, ``_name``,
``_url``, ``_endpoint``, ``_pem``, ``_mode``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pulumi

from payments_infra.config import SETTINGS
from payments_infra.config.setting import bound_values, creation_values
from payments_infra.config.settings import AVAILABILITY_ZONES

if TYPE_CHECKING:
    from payments_infra.components.platform import PaymentsPlatform


@dataclass(frozen=True)
class StackOutput:
    name: str
    description: str
    value: Callable[[PaymentsPlatform], pulumi.Input[Any] | None]
    """The value for this stack; None: not exported here (e.g. only in one certificate mode)."""


def creation_settings(platform: PaymentsPlatform) -> dict[str, str]:
    """The fixed part of each creation-only setting, from the settings the platform was built
    with and the zones it was built in."""
    values = bound_values(platform.config)
    values[AVAILABILITY_ZONES.key] = tuple(platform.network.availability_zones)
    return creation_values(SETTINGS, values)


OUTPUTS: tuple[StackOutput, ...] = (
    StackOutput(
        "availability_zones",
        "The three availability zones in use, in order.",
        lambda p: p.network.availability_zones,
    ),
    StackOutput(
        "availability_zone_ids",
        "The zone IDs of availability_zones, in order: the same physical zones in every "
        "account, as AWS Health and support name them.",
        lambda p: p.availability_zone_ids,
    ),
    StackOutput("vpc_id", "The VPC.", lambda p: p.network.vpc_id),
    StackOutput(
        "public_subnet_ids",
        "The public subnets (ALB, NAT gateways), one per zone, in zone order.",
        lambda p: p.network.public_subnet_ids,
    ),
    StackOutput(
        "private_subnet_ids",
        "The private subnets (tasks, database), one per zone, in zone order.",
        lambda p: p.network.private_subnet_ids,
    ),
    StackOutput(
        "nat_gateway_ids",
        "The NAT gateways, one per zone, in zone order.",
        lambda p: p.network.nat_gateway_ids,
    ),
    StackOutput(
        "flow_log_group_name",
        "The VPC flow-log group.",
        lambda p: p.network.flow_log_group.name,
    ),
    StackOutput(
        "db_cluster_endpoint",
        "The Aurora writer endpoint.",
        lambda p: p.database.cluster_endpoint,
    ),
    StackOutput(
        "db_cluster_reader_endpoint",
        "The Aurora reader endpoint.",
        lambda p: p.database.cluster_reader_endpoint,
    ),
    StackOutput(
        "db_security_group_id",
        "The database's security group, `db-sg-{suffix}`.",
        lambda p: p.security_groups.database.security_group_id,
    ),
    StackOutput(
        "db_master_secret_arn",
        "The master user's secret, `db-master-credentials-{suffix}`: the migrations and the "
        "rotation function only (no value is ever an output).",
        lambda p: p.database.secrets.master.arn,
    ),
    StackOutput(
        "db_app_secret_arn",
        "The API's database login, `db-app-credentials-{suffix}`: what the service's tasks get.",
        lambda p: p.database.secrets.app.arn,
    ),
    StackOutput(
        "db_keys_secret_arn",
        "The key CLI's database login, `db-keys-credentials-{suffix}`: what the key task gets.",
        lambda p: p.database.secrets.keys.arn,
    ),
    StackOutput(
        "certificate_mode",
        "`dns`, `existing` or `self-signed` (docs/architecture.md, API tier).",
        lambda p: p.certificates.mode,
    ),
    StackOutput(
        "api_url",
        "`https://api.<domain>` (mode 1), `https://<apiDomainName>` (mode 2) or "
        "`https://<alb dns name>`.",
        lambda p: p.load_balancer.api_url,
    ),
    StackOutput(
        "api_certificate_pem",
        "Mode 3 only: the self-signed certificate (public), to trust exactly it.",
        lambda p: p.certificates.api_certificate_pem,
    ),
    StackOutput("alb_dns_name", "The ALB's DNS name.", lambda p: p.load_balancer.alb_dns_name),
    StackOutput(
        "alb_logs_bucket_name",
        "The bucket the ALB writes its access logs to.",
        lambda p: p.load_balancer.log_bucket_name,
    ),
    StackOutput("ecs_cluster_name", "The ECS cluster.", lambda p: p.service.cluster_name),
    StackOutput("ecs_service_name", "The API's ECS service.", lambda p: p.service.service_name),
    StackOutput(
        "migrations_task_definition_arn",
        "The migrations' task definition revision the last deploy ran (before the service's "
        "new tasks).",
        lambda p: p.service.migrations.task_definition.arn,
    ),
    StackOutput(
        "keys_task_definition_arn",
        "The key CLI's task definition revision, of the family `api-keys-{suffix}` "
        "(docs/deploy.md, API keys).",
        lambda p: p.service.keys_task.task_definition.arn,
    ),
    StackOutput(
        "site_url",
        "`https://<domain>` (mode 1, or mode 2 with a CloudFront certificate) or "
        "`https://<id>.cloudfront.net`.",
        lambda p: p.frontend.site_url,
    ),
    StackOutput(
        "distribution_id", "The CloudFront distribution.", lambda p: p.frontend.distribution_id
    ),
    StackOutput(
        "distribution_domain_name",
        "CloudFront's own name for the distribution (`d111111abcdef8.cloudfront.net`): what "
        "mode 2's payments:siteDomainName must point at (docs/deploy.md, DNS per mode).",
        lambda p: p.frontend.distribution.domain_name,
    ),
    StackOutput(
        "frontend_bucket_name",
        "The bucket behind CloudFront that holds the web app.",
        lambda p: p.frontend.bucket_name,
    ),
    StackOutput(
        "alerts_topic_arn",
        "The SNS topic every alarm sends to.",
        lambda p: p.observability.topic_arn,
    ),
    StackOutput(
        "alb_access_log_group_name",
        "Where the ALB's access logs land in CloudWatch.",
        lambda p: p.alb_access_logs.log_group_name,
    ),
    StackOutput(
        "creation_settings",
        "The creation-only settings (marked in the settings table) as this stack was built "
        "with them, key -> value as a stack file writes it; `payments:availabilityZones` is "
        "the zones in use, pinned or looked up. `make up` refuses a stack file that changes "
        "one (docs/deploy.md, Changing a deployed stack). Nothing secret.",
        creation_settings,
    ),
)


def export_outputs(platform: PaymentsPlatform) -> None:
    """Export every declared output this stack has."""
    for output in OUTPUTS:
        value = output.value(platform)
        if value is not None:
            pulumi.export(output.name, value)
