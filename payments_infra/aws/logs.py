"""The one way the stack makes a CloudWatch log group: 30 days, the logs key, a Name tag.

Every tier calls ``log_group``, so retention and encryption are decided here once and a
new log group cannot forget either.
"""

from __future__ import annotations

import pulumi
import pulumi_aws as aws

from payments_infra.aws.tagging import name_tag
from payments_infra.config import LOG_RETENTION_DAYS
from payments_infra.config.naming import PhysicalName, physical_name


def log_group(
    resource_name: str,
    name: PhysicalName,
    suffix: str,
    *,
    kms_key_arn: pulumi.Input[str],
    opts: pulumi.ResourceOptions,
) -> aws.cloudwatch.LogGroup:
    """A log group named ``name`` (naming.Names), kept 30 days, encrypted."""
    group_name = physical_name(name, suffix)
    return aws.cloudwatch.LogGroup(
        resource_name,
        aws.cloudwatch.LogGroupArgs(
            name=group_name,
            retention_in_days=LOG_RETENTION_DAYS,
            kms_key_id=kms_key_arn,
            tags=name_tag(group_name),
        ),
        opts=opts,
    )


def deliver_to_log_group(
    resource_name: str,
    *,
    log_type: str,
    source_arn: pulumi.Input[str],
    log_group_arn: pulumi.Input[str],
    names: tuple[PhysicalName, PhysicalName, PhysicalName],
    suffix: str,
    opts: pulumi.ResourceOptions,
) -> None:
    """CloudWatch vended-log delivery of ``source_arn``'s ``log_type`` into a log group, as
    JSON. ``names``: the names (naming.Names) of the source, the destination and the delivery."""
    source_name, destination_name, delivery_name = names
    source = aws.cloudwatch.LogDeliverySource(
        f"{resource_name}-source",
        aws.cloudwatch.LogDeliverySourceArgs(
            name=physical_name(source_name, suffix),
            log_type=log_type,
            resource_arn=source_arn,
            tags=name_tag(physical_name(source_name, suffix)),
        ),
        opts=opts,
    )
    destination = aws.cloudwatch.LogDeliveryDestination(
        f"{resource_name}-destination",
        aws.cloudwatch.LogDeliveryDestinationArgs(
            name=physical_name(destination_name, suffix),
            output_format="json",
            delivery_destination_configuration=aws.cloudwatch.LogDeliveryDestinationDeliveryDestinationConfigurationArgs(
                destination_resource_arn=log_group_arn
            ),
            tags=name_tag(physical_name(destination_name, suffix)),
        ),
        opts=opts,
    )
    aws.cloudwatch.LogDelivery(
        f"{resource_name}-delivery",
        aws.cloudwatch.LogDeliveryArgs(
            delivery_source_name=source.name,
            delivery_destination_arn=destination.arn,
            tags=name_tag(physical_name(delivery_name, suffix)),
        ),
        opts=opts,
    )
