"""Queries the component tests share over a recorded graph; each expects exactly one match."""

from __future__ import annotations

import json
from typing import Any

from pulumi_policy import EnforcementLevel

from payments_infra.offline.graph import Graph, Resource
from policy.offline_validation import args_for, violations
from policy.rules import RULES


def only(graph: Graph, type_token: str) -> Resource:
    """The one resource of this type in the graph."""
    (resource,) = graph.of_type(type_token)
    return resource


def named(graph: Graph, type_token: str, name: str) -> Resource:
    """The one resource of this type with this physical name."""
    (resource,) = [r for r in graph.of_type(type_token) if r.physical_name == name]
    return resource


def task_definition(graph: Graph, family: str) -> Resource:
    """The one ECS task definition of this family (the API's, the migrations', the key CLI's)."""
    (resource,) = [
        r
        for r in graph.of_type("aws:ecs/taskDefinition:TaskDefinition")
        if r.inputs.get("family") == family
    ]
    return resource


def task_container(graph: Graph, family: str) -> dict[str, Any]:
    """The one container of the task definition of this family."""
    (container,) = json.loads(task_definition(graph, family).inputs["containerDefinitions"])
    return dict(container)


def in_component(graph: Graph, type_token: str, component: str) -> Resource:
    """The one resource of this type created by the named component."""
    (resource,) = [r for r in graph.of_type(type_token) if r.name.startswith(f"{component}-")]
    return resource


def security_group_rules(graph: Graph, type_token: str, group: Resource) -> set[tuple[Any, ...]]:
    """(protocol, from port, to port, peer) of each rule of this type on ``group``; the peer is
    a CIDR, a prefix list or a security group id."""
    return {
        (
            r.inputs["ipProtocol"],
            r.inputs["fromPort"],
            r.inputs["toPort"],
            r.inputs.get("cidrIpv4")
            or r.inputs.get("cidrIpv6")
            or r.inputs.get("prefixListId")
            or r.inputs.get("referencedSecurityGroupId"),
        )
        for r in graph.of_type(type_token)
        if r.inputs["securityGroupId"] == group.id
    }


def mandatory_rule_violations(graph: Graph) -> dict[tuple[str, str], list[str]]:
    """(rule, resource) -> what each mandatory per-resource policy rule finds in the graph."""
    return {
        (rule.name, resource.name): problems
        for resource in graph
        if resource.custom
        for rule in RULES
        if rule.enforcement == EnforcementLevel.MANDATORY
        if (problems := violations(rule, args_for(resource, graph)))
    }
