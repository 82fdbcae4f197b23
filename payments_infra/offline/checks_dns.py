"""Graph-wide checks of the VPC resolver, the way out security groups do not filter (PCI DSS
1.3.2, 10.2).

Every VPC has a DNS Firewall rule group associated whose last rule (the highest priority
number, the one DNS Firewall reaches when nothing before it matched) blocks every domain
(``*``), so that only the names the rules before it allow are answered, and the VPC does not
fail open; and every VPC's queries are logged (a Resolver query log configuration associated
with it, writing somewhere). Resources are linked by id, as AWS links them.
"""

from __future__ import annotations

from payments_infra.offline.checks_conventions import label
from payments_infra.offline.graph import Graph, Resource

VPC = "aws:ec2/vpc:Vpc"
DOMAIN_LIST = "aws:route53/resolverFirewallDomainList:ResolverFirewallDomainList"
RULE = "aws:route53/resolverFirewallRule:ResolverFirewallRule"
ASSOCIATION = (
    "aws:route53/resolverFirewallRuleGroupAssociation:ResolverFirewallRuleGroupAssociation"
)
FIREWALL_CONFIG = "aws:route53/resolverFirewallConfig:ResolverFirewallConfig"
QUERY_LOG_CONFIG = "aws:route53/resolverQueryLogConfig:ResolverQueryLogConfig"
QUERY_LOG_ASSOCIATION = (
    "aws:route53/resolverQueryLogConfigAssociation:ResolverQueryLogConfigAssociation"
)
EVERY_DOMAIN = ["*"]


def _with(graph: Graph, type_token: str, key: str, value: str) -> list[Resource]:
    return [r for r in graph.of_type(type_token) if r.inputs.get(key) == value]


def _blocks_the_rest(graph: Graph, rule_group_id: str) -> bool:
    """Whether the group's last rule blocks every domain."""
    rules = _with(graph, RULE, "firewallRuleGroupId", rule_group_id)
    if not rules:
        return False
    last = max(rules, key=lambda rule: float(rule.inputs.get("priority", 0)))
    lists = [
        d for d in graph.of_type(DOMAIN_LIST) if d.id == last.inputs.get("firewallDomainListId")
    ]
    return last.inputs.get("action") == "BLOCK" and any(
        list(d.inputs.get("domains") or []) == EVERY_DOMAIN for d in lists
    )


def _firewall_problems(graph: Graph, vpc: Resource) -> list[str]:
    groups = [
        a.inputs.get("firewallRuleGroupId", "") for a in _with(graph, ASSOCIATION, "vpcId", vpc.id)
    ]
    problems = []
    if not any(_blocks_the_rest(graph, group) for group in groups):
        problems.append(
            f"{label(vpc)} has no DNS Firewall rule group whose last rule blocks every domain "
            "(*): code in the VPC can carry data out in the names it looks up"
        )
    problems += [
        f"{label(config)} lets {label(vpc)}'s queries through unfiltered when DNS Firewall "
        "fails (firewallFailOpen ENABLED): fail closed"
        for config in _with(graph, FIREWALL_CONFIG, "resourceId", vpc.id)
        if config.inputs.get("firewallFailOpen") == "ENABLED"
    ]
    return problems


def check_dns_firewall(graph: Graph) -> list[str]:
    """Every VPC's resolver answers only what a DNS Firewall rule allows, and fails closed."""
    return [p for vpc in graph.of_type(VPC) for p in _firewall_problems(graph, vpc)]


def check_dns_query_logging(graph: Graph) -> list[str]:
    """Every VPC's DNS queries (and the firewall's answers) are logged somewhere."""
    configs = {c.id: c for c in graph.of_type(QUERY_LOG_CONFIG) if c.inputs.get("destinationArn")}
    return [
        f"{label(vpc)} has no Resolver query logging: its DNS queries, and what DNS Firewall "
        "blocked, are not recorded"
        for vpc in graph.of_type(VPC)
        if not any(
            a.inputs.get("resolverQueryLogConfigId") in configs
            for a in _with(graph, QUERY_LOG_ASSOCIATION, "resourceId", vpc.id)
        )
    ]
