"""The one way the stack makes a security-group rule, and ``allow``: who may reach whom.

Separate rule resources (not inline ``ingress``/``egress`` lists) so each rule has its own
description and tags, and a rule on one group never rewrites the group's others.

Access between two groups is always a pair: an egress rule on the group that connects and an
ingress rule on the group it connects to. ``allow`` makes both at once, each as a child of
the component that owns its group (CDK's ``connections.allowTo`` is the model), so
``platform.py`` says in one line which tier reaches which, after both exist; a tier never adds
rules to another tier's group.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, TypedDict

import pulumi
import pulumi_aws as aws

from payments_infra.aws.naming import physical_name
from payments_infra.aws.tagging import name_tag

HTTPS_PORT = 443
Direction = Literal["ingress", "egress"]


class _RuleInputs(TypedDict):
    """What ingress and egress rules take alike."""

    security_group_id: pulumi.Input[str]
    ip_protocol: str
    from_port: int
    to_port: int
    description: str
    cidr_ipv4: str | None
    cidr_ipv6: str | None
    prefix_list_id: pulumi.Input[str] | None
    referenced_security_group_id: pulumi.Input[str] | None
    tags: dict[str, str]


def security_group_rule(
    resource_name: str,
    direction: Direction,
    *,
    name_key: str,
    suffix: str,
    security_group_id: pulumi.Input[str],
    port: int,
    description: str,
    opts: pulumi.ResourceOptions,
    cidr_ipv4: str | None = None,
    cidr_ipv6: str | None = None,
    prefix_list_id: pulumi.Input[str] | None = None,
    referenced_security_group_id: pulumi.Input[str] | None = None,
) -> aws.vpc.SecurityGroupIngressRule | aws.vpc.SecurityGroupEgressRule:
    """A rule for TCP ``port`` on ``security_group_id``, Name-tagged by catalogue entry
    ``name_key``; its peer is exactly one of the CIDRs, the prefix list or another group."""
    peers = [cidr_ipv4, cidr_ipv6, prefix_list_id, referenced_security_group_id]
    if sum(peer is not None for peer in peers) != 1:
        raise ValueError(f"security-group rule {resource_name} must name exactly one peer")
    rule: _RuleInputs = {
        "security_group_id": security_group_id,
        "ip_protocol": "tcp",
        "from_port": port,
        "to_port": port,
        "description": description,
        "cidr_ipv4": cidr_ipv4,
        "cidr_ipv6": cidr_ipv6,
        "prefix_list_id": prefix_list_id,
        "referenced_security_group_id": referenced_security_group_id,
        "tags": name_tag(physical_name(name_key, suffix)),
    }
    if direction == "ingress":
        return aws.vpc.SecurityGroupIngressRule(
            resource_name, aws.vpc.SecurityGroupIngressRuleArgs(**rule), opts=opts
        )
    return aws.vpc.SecurityGroupEgressRule(
        resource_name, aws.vpc.SecurityGroupEgressRuleArgs(**rule), opts=opts
    )


@dataclass(frozen=True)
class Connectable:
    """A security group that ``allow`` may connect, with the component that owns it.

    Rules on the group are children of that component (``opts``) and their logical names start
    with its name, like the component's other children.
    """

    security_group_id: pulumi.Input[str]
    owner_name: str
    suffix: str
    opts: pulumi.ResourceOptions


@dataclass(frozen=True)
class Rule:
    """One rule of an ``allow`` pair: its logical name after the owner's name, the catalogue
    entry of its Name tag, and the description EC2 shows."""

    key: str
    name_key: str
    description: str


def allow(
    source: Connectable, target: Connectable, port: int, *, egress: Rule, ingress: Rule
) -> list[pulumi.Resource]:
    """Let ``source`` open TCP connections to ``target`` on ``port``, and nothing more: the
    egress rule on the source's group and the matching ingress rule on the target's (returned,
    for a resource that must wait until the way is open)."""
    pairs: tuple[tuple[Direction, Rule, Connectable, Connectable], ...] = (
        ("egress", egress, source, target),
        ("ingress", ingress, target, source),
    )
    return [
        security_group_rule(
            f"{group.owner_name}-{rule.key}",
            direction,
            name_key=rule.name_key,
            suffix=group.suffix,
            security_group_id=group.security_group_id,
            referenced_security_group_id=peer.security_group_id,
            port=port,
            description=rule.description,
            opts=group.opts,
        )
        for direction, rule, group, peer in pairs
    ]
