"""The one way the stack makes a customer-managed KMS key: rotating, quickly deletable, aliased."""

from __future__ import annotations

import pulumi
import pulumi_aws as aws

from payments_infra.naming import physical_name
from payments_infra.tagging import name_tag

# The shortest window AWS allows: a destroyed stack leaves no key behind for long.
KEY_DELETION_WINDOW_DAYS = 7


def customer_managed_key(
    resource_name: str,
    *,
    description: str,
    policy: pulumi.Input[str],
    name_key: str,
    alias_key: str,
    suffix: str,
    parent: pulumi.Resource,
) -> aws.kms.Key:
    """A symmetric key with yearly rotation, tagged by ``name_key``, aliased by ``alias_key``."""
    child = pulumi.ResourceOptions(parent=parent)
    key = aws.kms.Key(
        resource_name,
        aws.kms.KeyArgs(
            description=description,
            enable_key_rotation=True,
            deletion_window_in_days=KEY_DELETION_WINDOW_DAYS,
            policy=policy,
            tags=name_tag(physical_name(name_key, suffix)),
        ),
        opts=child,
    )
    aws.kms.Alias(
        f"{resource_name}-alias",
        aws.kms.AliasArgs(name=physical_name(alias_key, suffix), target_key_id=key.key_id),
        opts=child,
    )
    return key
