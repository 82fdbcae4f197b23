"""Who may reach whom: ``allow(source, target, port, why)``, one call per arrow of the diagram.

An arrow between two security groups is a pair of rules: an egress rule on the group that
connects and an ingress rule on the group it connects to (CDK's ``connections.allowTo`` is the
model). An arrow from or to addresses outside the VPC (a CIDR, a prefix list) is one rule, on
the group's side. Both halves are named after the arrow, ``{source}-to-{target}``: the logical
names end in ``-egress``/``-ingress`` and both carry the Name tag ``{source}-to-{target}-{suffix}``,
so EC2's console and a preview say which arrow a rule draws.

Separate rule resources (not inline ``ingress``/``egress`` lists) so each rule has its own
description and tags, and a rule on one group never rewrites the group's others.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal, TypedDict

import pulumi
import pulumi_aws as aws

from payments_infra.aws.tagging import name_tag
from payments_infra.config.naming import arrow_name

HTTPS_PORT = 443
Direction = Literal["ingress", "egress"]
# EC2's rule for a rule's description (AuthorizeSecurityGroupIngress, IpRange.Description):
# up to 255 of these characters. No apostrophe: "the ALB's" would fail at create time.
DESCRIPTION_PATTERN = r"[a-zA-Z0-9 ._\-:/()#,@\[\]+=&;{}!$*]{1,255}"


@dataclass(frozen=True, kw_only=True)
class Connectable:
    """A security group ``allow`` may connect, named ``label`` in rule names (``alb``).

    ``opts`` parent the rules on the group: the component that made the group.
    """

    label: str
    security_group_id: pulumi.Input[str]
    suffix: str
    opts: pulumi.ResourceOptions


@dataclass(frozen=True, kw_only=True)
class Peer:
    """Addresses outside the VPC's groups, named ``label`` in rule names: exactly one of an
    IPv4 CIDR, an IPv6 CIDR or a managed prefix list."""

    label: str
    cidr_ipv4: str | None = None
    cidr_ipv6: str | None = None
    prefix_list_id: pulumi.Input[str] | None = None

    def __post_init__(self) -> None:
        given = [self.cidr_ipv4, self.cidr_ipv6, self.prefix_list_id]
        if sum(value is not None for value in given) != 1:
            raise ValueError(f"Peer {self.label} must give exactly one of two CIDRs or a list")


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


def allow(
    source: Connectable | Peer, target: Connectable | Peer, port: int, why: str
) -> list[pulumi.Resource]:
    """Let ``source`` open TCP connections to ``target`` on ``port``, and nothing more.

    Returns the rules made (two between groups, one to or from a Peer), for what must wait
    until the way is open. ``why`` becomes each rule's description in EC2.
    """
    if not re.fullmatch(DESCRIPTION_PATTERN, why):
        raise ValueError(
            f"allow({source.label} -> {target.label}): why must be 1 to 255 of the characters "
            f'EC2 allows in a rule description, {DESCRIPTION_PATTERN}; got "{why}"'
        )
    arrow = _Arrow(source.label, target.label)
    rules: list[pulumi.Resource] = []
    if isinstance(source, Connectable):
        rules.append(_rule(arrow, "egress", group=source, peer=target, port=port, why=why))
    if isinstance(target, Connectable):
        rules.append(_rule(arrow, "ingress", group=target, peer=source, port=port, why=why))
    if not rules:
        raise ValueError(f"allow({arrow.name}): at least one side must be a security group")
    return rules


@dataclass(frozen=True)
class _Arrow:
    source: str
    target: str

    @property
    def name(self) -> str:
        return f"{self.source}-to-{self.target}"


def _rule(
    arrow: _Arrow,
    direction: Direction,
    *,
    group: Connectable,
    peer: Connectable | Peer,
    port: int,
    why: str,
) -> aws.vpc.SecurityGroupIngressRule | aws.vpc.SecurityGroupEgressRule:
    """One half of an arrow: a rule for TCP ``port`` on ``group``, towards or from ``peer``."""
    inputs: _RuleInputs = {
        "security_group_id": group.security_group_id,
        "ip_protocol": "tcp",
        "from_port": port,
        "to_port": port,
        "description": why,
        "cidr_ipv4": peer.cidr_ipv4 if isinstance(peer, Peer) else None,
        "cidr_ipv6": peer.cidr_ipv6 if isinstance(peer, Peer) else None,
        "prefix_list_id": peer.prefix_list_id if isinstance(peer, Peer) else None,
        "referenced_security_group_id": (
            peer.security_group_id if isinstance(peer, Connectable) else None
        ),
        "tags": name_tag(arrow_name(arrow.source, arrow.target, group.suffix)),
    }
    if direction == "ingress":
        return aws.vpc.SecurityGroupIngressRule(
            f"{arrow.name}-ingress", aws.vpc.SecurityGroupIngressRuleArgs(**inputs), opts=group.opts
        )
    return aws.vpc.SecurityGroupEgressRule(
        f"{arrow.name}-egress", aws.vpc.SecurityGroupEgressRuleArgs(**inputs), opts=group.opts
    )
