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


@dataclass(frozen=True, kw_only=True)
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
        name="availability_zones",
        description="The three availability zones in use, in order.",
        value=lambda p: p.network.availability_zones,
    ),
    StackOutput(
        name="availability_zone_ids",
        description="The zone IDs of availability_zones, in order: the same physical zones in "
        "every account, as AWS Health and support name them.",
        value=lambda p: p.availability_zone_ids,
    ),
    StackOutput(name="vpc_id", description="The VPC.", value=lambda p: p.network.vpc_id),
    StackOutput(
        name="public_subnet_ids",
        description="The public subnets (ALB, NAT gateways), one per zone, in zone order.",
        value=lambda p: p.network.public_subnet_ids,
    ),
    StackOutput(
        name="private_subnet_ids",
        description="The private subnets (tasks, database), one per zone, in zone order.",
        value=lambda p: p.network.private_subnet_ids,
    ),
    StackOutput(
        name="nat_gateway_ids",
        description="The NAT gateways, one per zone, in zone order.",
        value=lambda p: p.network.nat_gateway_ids,
    ),
    StackOutput(
        name="flow_log_group_name",
        description="The VPC flow-log group.",
        value=lambda p: p.network.flow_log_group.name,
    ),
    StackOutput(
        name="db_cluster_endpoint",
        description="The Aurora writer endpoint.",
        value=lambda p: p.database.cluster_endpoint,
    ),
    StackOutput(
        name="db_cluster_reader_endpoint",
        description="The Aurora reader endpoint.",
        value=lambda p: p.database.cluster_reader_endpoint,
    ),
    StackOutput(
        name="db_security_group_id",
        description="The database's security group, `db-sg-{suffix}`.",
        value=lambda p: p.security_groups.database.security_group_id,
    ),
    StackOutput(
        name="db_master_secret_arn",
        description="The master user's secret, `db-master-credentials-{suffix}`: the migrations "
        "and the rotation function only (no value is ever an output).",
        value=lambda p: p.database.secrets.master.arn,
    ),
    StackOutput(
        name="db_app_secret_arn",
        description="The API's database login, `db-app-credentials-{suffix}`: "
        "what the service's tasks get.",
        value=lambda p: p.database.secrets.app.arn,
    ),
    StackOutput(
        name="db_keys_secret_arn",
        description="The key CLI's database login, `db-keys-credentials-{suffix}`: "
        "what the key task gets.",
        value=lambda p: p.database.secrets.keys.arn,
    ),
    StackOutput(
        name="certificate_mode",
        description="`dns`, `existing` or `self-signed` (docs/architecture.md, API tier).",
        value=lambda p: p.certificates.mode,
    ),
    StackOutput(
        name="api_url",
        description="`https://api.<domain>` (mode 1), `https://<apiDomainName>` (mode 2) or "
        "`https://<alb dns name>`.",
        value=lambda p: p.load_balancer.api_url,
    ),
    StackOutput(
        name="api_certificate_pem",
        description="Mode 3 only: the self-signed certificate (public), to trust exactly it.",
        value=lambda p: p.certificates.api_certificate_pem,
    ),
    StackOutput(
        name="alb_dns_name",
        description="The ALB's DNS name.",
        value=lambda p: p.load_balancer.alb_dns_name,
    ),
    StackOutput(
        name="alb_logs_bucket_name",
        description="The bucket the ALB writes its access logs to.",
        value=lambda p: p.load_balancer.log_bucket_name,
    ),
    StackOutput(
        name="ecs_cluster_name",
        description="The ECS cluster.",
        value=lambda p: p.service.cluster_name,
    ),
    StackOutput(
        name="ecs_service_name",
        description="The API's ECS service.",
        value=lambda p: p.service.service_name,
    ),
    StackOutput(
        name="migrations_task_definition_arn",
        description="The migrations' task definition revision the last deploy ran (before the "
        "service's new tasks).",
        value=lambda p: p.service.migrations.task_definition.arn,
    ),
    StackOutput(
        name="keys_task_definition_arn",
        description="The key CLI's task definition revision, of the family `api-keys-{suffix}` "
        "(docs/deploy.md, API keys).",
        value=lambda p: p.service.keys_task.task_definition.arn,
    ),
    StackOutput(
        name="site_url",
        description="`https://<domain>` (mode 1, or mode 2 with a CloudFront certificate) or "
        "`https://<id>.cloudfront.net`.",
        value=lambda p: p.frontend.site_url,
    ),
    StackOutput(
        name="distribution_id",
        description="The CloudFront distribution.",
        value=lambda p: p.frontend.distribution_id,
    ),
    StackOutput(
        name="distribution_domain_name",
        description="CloudFront's own name for the distribution (`d111111abcdef8.cloudfront.net`): "
        "what mode 2's payments:siteDomainName must point at (docs/deploy.md, DNS per mode).",
        value=lambda p: p.frontend.distribution.domain_name,
    ),
    StackOutput(
        name="frontend_bucket_name",
        description="The bucket behind CloudFront that holds the web app.",
        value=lambda p: p.frontend.bucket_name,
    ),
    StackOutput(
        name="alerts_topic_arn",
        description="The SNS topic every alarm sends to.",
        value=lambda p: p.observability.topic_arn,
    ),
    StackOutput(
        name="alb_access_log_group_name",
        description="Where the ALB's access logs land in CloudWatch.",
        value=lambda p: p.alb_access_logs.log_group_name,
    ),
    StackOutput(
        name="creation_settings",
        description="The creation-only settings (marked in the settings table) as this stack was "
        "built with them, key -> value as a stack file writes it; `payments:availabilityZones` is "
        "the zones in use, pinned or looked up. `make up` refuses a stack file that changes "
        "one (docs/deploy.md, Changing a deployed stack). Nothing secret.",
        value=creation_settings,
    ),
)


def export_outputs(platform: PaymentsPlatform) -> None:
    """Export every declared output this stack has."""
    for output in OUTPUTS:
        value = output.value(platform)
        if value is not None:
            pulumi.export(output.name, value)
