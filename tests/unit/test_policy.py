"""The PCI policy pack: every rule passes on the real program and fails on a broken resource."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest

from payments_infra.offline.graph import Graph, Resource
from policy.rules import POLICIES, RULES, Rule, args_for, violations

RULE = {rule.name: rule for rule in RULES}


def test_every_rule_names_its_pci_requirement() -> None:
    assert len(POLICIES) == len(RULES) >= 9
    for policy, rule in zip(POLICIES, RULES, strict=True):
        assert f"PCI DSS v4.0 {rule.requirement}" in policy.description


def test_every_rule_passes_on_every_resource_of_the_real_program(graph: Graph) -> None:
    found = {
        (rule.name, resource.name): problems
        for resource in graph
        if resource.custom
        for rule in RULES
        if (problems := violations(rule, args_for(resource, graph)))
    }
    assert found == {}


def first(graph: Graph, type_token: str) -> Resource:
    return graph.of_type(type_token)[0]


def broken(
    graph: Graph, type_token: str, change: Callable[[dict[str, Any]], None]
) -> tuple[Resource, Graph]:
    copied = copy.deepcopy(graph)
    resource = first(copied, type_token)
    change(resource.inputs)
    return resource, copied


@pytest.mark.parametrize(
    ("rule", "type_token", "change", "message"),
    [
        (
            "encryption-at-rest",
            "aws:rds/cluster:Cluster",
            lambda i: i.update(storageEncrypted=False),
            "storage must be encrypted",
        ),
        (
            "encryption-at-rest",
            "aws:kms/key:Key",
            lambda i: i.update(enableKeyRotation=False),
            "must rotate",
        ),
        (
            "encryption-in-transit",
            "aws:lb/listener:Listener",
            lambda i: i.update(protocol="HTTP", port=80),
            "only HTTPS",
        ),
        (
            "encryption-in-transit",
            "aws:lb/targetGroup:TargetGroup",
            lambda i: i.update(protocol="HTTP"),
            "forwards with HTTP",
        ),
        (
            "database-tls",
            "aws:rds/clusterParameterGroup:ClusterParameterGroup",
            lambda i: i.update(parameters=[]),
            "rds.force_ssl",
        ),
        (
            "no-public-compute",
            "aws:rds/clusterInstance:ClusterInstance",
            lambda i: i.update(publiclyAccessible=True),
            "publicly accessible",
        ),
        (
            "no-public-compute",
            "aws:ecs/service:Service",
            lambda i: i["networkConfiguration"].update(assignPublicIp=True),
            "public IP",
        ),
        (
            "no-open-ingress",
            "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
            lambda i: i.update(cidrIpv4="0.0.0.0/0", fromPort=22, toPort=22),
            "only TCP 443",
        ),
        (
            "log-retention",
            "aws:cloudwatch/logGroup:LogGroup",
            lambda i: i.update(retentionInDays=7),
            "keeps logs 7 days",
        ),
        ("required-tags", "aws:ec2/vpc:Vpc", lambda i: i.update(tags={}), "lacks required tags"),
        (
            "destroyable",
            "aws:rds/cluster:Cluster",
            lambda i: i.update(deletionProtection=True),
            "deletionProtection",
        ),
        (
            "least-privilege",
            "aws:iam/rolePolicy:RolePolicy",
            lambda i: i.update(
                policy='{"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}'
            ),
            "wildcard actions",
        ),
    ],
)
def test_each_rule_fails_on_a_broken_resource_with_its_message(
    graph: Graph, rule: str, type_token: str, change: Callable[[dict[str, Any]], None], message: str
) -> None:
    resource, copied = broken(graph, type_token, change)
    found = violations(RULE[rule], args_for(resource, copied))
    assert found, f"{rule} did not notice the change to {resource.name}"
    assert any(message in f for f in found), found
    assert all(f.startswith(f"PCI DSS {RULE[rule].requirement}: ") for f in found)


def test_a_protected_resource_fails_the_destroyable_rule(graph: Graph) -> None:
    copied = copy.deepcopy(graph)
    vpc = first(copied, "aws:ec2/vpc:Vpc")
    vpc.protect = True
    assert any("is protected" in f for f in violations(RULE["destroyable"], args_for(vpc, copied)))


def test_the_alb_https_rule_open_to_the_internet_passes(graph: Graph) -> None:
    rule: Rule = RULE["no-open-ingress"]
    open_443 = [
        r
        for r in graph.of_type("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
        if r.inputs.get("cidrIpv4") == "0.0.0.0/0"
    ]
    assert open_443 and all(violations(rule, args_for(r, graph)) == [] for r in open_443)
