"""The one way the stack makes a security-group rule: one resource per rule, Name-tagged.

Separate rule resources (not inline ``ingress``/``egress`` lists) so each rule has its own
description and tags, and a rule added by another tier never rewrites a group's others.
"""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_aws as aws

from payments_infra.naming import physical_name
from payments_infra.tagging import name_tag


def security_group_rule(
    resource_name: str,
    direction: str,
    name_key: str,
    suffix: str,
    *,
    parent: pulumi.Resource,
    **rule: Any,
) -> None:
    """An ``ingress`` or ``egress`` rule named by catalogue entry ``name_key``.

    ``rule`` holds the rule's own inputs (security_group_id, ports, the peer, description);
    the typed ``*Args`` classes reject a misspelt one.
    """
    tags = name_tag(physical_name(name_key, suffix))
    opts = pulumi.ResourceOptions(parent=parent)
    if direction == "ingress":
        aws.vpc.SecurityGroupIngressRule(
            resource_name, aws.vpc.SecurityGroupIngressRuleArgs(**rule, tags=tags), opts=opts
        )
    elif direction == "egress":
        aws.vpc.SecurityGroupEgressRule(
            resource_name, aws.vpc.SecurityGroupEgressRuleArgs(**rule, tags=tags), opts=opts
        )
    else:
        raise ValueError(f"direction must be ingress or egress; got {direction!r}")
