"""The one way the stack makes a CloudWatch log group: 30 days, the logs key, a Name tag.

Every tier calls ``log_group``, so retention and encryption are decided here once and a
new log group cannot forget either.
"""

from __future__ import annotations

import pulumi
import pulumi_aws as aws

from payments_infra.config import LOG_RETENTION_DAYS
from payments_infra.naming import physical_name
from payments_infra.tagging import name_tag


def log_group(
    resource_name: str,
    name_key: str,
    suffix: str,
    *,
    kms_key_arn: pulumi.Input[str],
    parent: pulumi.Resource,
) -> aws.cloudwatch.LogGroup:
    """A log group named by catalogue entry ``name_key``, kept 30 days, encrypted."""
    name = physical_name(name_key, suffix)
    return aws.cloudwatch.LogGroup(
        resource_name,
        aws.cloudwatch.LogGroupArgs(
            name=name,
            retention_in_days=LOG_RETENTION_DAYS,
            kms_key_id=kms_key_arn,
            tags=name_tag(name),
        ),
        opts=pulumi.ResourceOptions(parent=parent),
    )
