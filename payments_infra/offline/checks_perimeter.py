"""Graph-wide checks of the perimeter around the VPC's ways to AWS (PCI DSS 1.3.2).

Every VPC endpoint has a policy. An interface endpoint's admits principals of this account
only (``aws:PrincipalAccount``). The S3 gateway endpoint's admits ECR's image layers (a
``s3:GetObject`` on ECR's layer bucket, nothing else of another account) and, otherwise, only
calls by this account's principals on this account's buckets (``aws:PrincipalAccount`` and
``aws:ResourceAccount`` both). An endpoint with no policy lets anything through.

Every interface endpoint has a security group of its own that admits HTTPS from its callers'
groups only (``check_endpoint_callers``).
"""

from __future__ import annotations

import json
from typing import Any

from payments_infra.components.network.endpoint_policies import ECR_LAYER_BUCKET
from payments_infra.components.network.endpoints import FUNCTION_ENDPOINTS, TASK_ENDPOINTS
from payments_infra.offline.checks_conventions import label
from payments_infra.offline.checks_egress import (
    ECS_SERVICE,
    HTTPS,
    INGRESS_RULE,
    LAMBDA_FUNCTION,
    SECURITY_GROUP,
    VPC_ENDPOINT,
    endpoint_service,
    interface_endpoints,
    rules_on,
    service_groups,
)
from payments_infra.offline.graph import Graph, Resource

ECR_LAYERS = f"arn:aws:s3:::{ECR_LAYER_BUCKET}/*"


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _statements(endpoint: Resource) -> list[dict[str, Any]] | None:
    """The endpoint policy's statements; None when it has no policy (or not a JSON one)."""
    policy = endpoint.inputs.get("policy")
    if not isinstance(policy, str) or not policy.strip():
        return None
    try:
        return [dict(s) for s in _as_list(json.loads(policy).get("Statement", []))]
    except (json.JSONDecodeError, AttributeError):
        return None


def _conditions(statement: dict[str, Any]) -> dict[str, Any]:
    return dict(statement.get("Condition", {}).get("StringEquals", {}))


def _is_ecr_layers(statement: dict[str, Any]) -> bool:
    return _as_list(statement.get("Action")) == ["s3:GetObject"] and _as_list(
        statement.get("Resource")
    ) == [ECR_LAYERS]


def _endpoint_problems(endpoint: Resource) -> list[str]:
    statements = _statements(endpoint)
    if statements is None:
        return [f"{label(endpoint)} has no endpoint policy: any call, any credentials, passes"]
    gateway = endpoint.inputs.get("vpcEndpointType") == "Gateway"
    problems = []
    for statement in statements:
        if statement.get("Effect") != "Allow":
            continue
        sid = statement.get("Sid", "(no Sid)")
        keys = _conditions(statement)
        if "aws:PrincipalAccount" not in keys:
            if not (gateway and _is_ecr_layers(statement)):
                problems.append(
                    f"{label(endpoint)}: statement {sid} allows without aws:PrincipalAccount: "
                    "another account's credentials pass"
                )
            continue
        if gateway and "aws:ResourceAccount" not in keys:
            problems.append(
                f"{label(endpoint)}: statement {sid} allows without aws:ResourceAccount: "
                "data can leave for another account's bucket"
            )
    return problems


def check_endpoint_policies(graph: Graph) -> list[str]:
    """Every VPC endpoint has a policy that keeps other accounts' principals (and, through S3,
    other accounts' buckets but ECR's layers) out."""
    return [p for endpoint in graph.of_type(VPC_ENDPOINT) for p in _endpoint_problems(endpoint)]


def check_tasks_behind_endpoints(graph: Graph) -> list[str]:
    """The API tasks reach AWS through the interface endpoints, not through the NAT gateways to
    any address: with ``payments:vpcEndpoints=false`` they may send HTTPS anywhere, which a
    production stack must not (advisory in the pack, mandatory in policy/production.json)."""
    if interface_endpoints(graph):
        return []
    return [
        f"{label(service)} reaches AWS through the NAT gateways, HTTPS to any address: "
        "turn payments:vpcEndpoints on"
        for service in graph.of_type(ECS_SERVICE)
    ]


def _callers(graph: Graph) -> dict[str, set[str]]:
    """Each client group in the VPC and the endpoint services its kind calls (endpoints.py):
    an ECS service's groups the tasks', a VPC function's the functions'."""
    calls: dict[str, set[str]] = {}
    for service in graph.of_type(ECS_SERVICE):
        for group in service_groups(service):
            calls.setdefault(group, set()).update(TASK_ENDPOINTS)
    for function in graph.of_type(LAMBDA_FUNCTION):
        for group in (function.inputs.get("vpcConfig") or {}).get("securityGroupIds") or []:
            calls.setdefault(group, set()).update(FUNCTION_ENDPOINTS)
    return calls


def check_endpoint_callers(graph: Graph) -> list[str]:
    """Each interface endpoint has a security group of its own, which admits HTTPS (443) only,
    and only from the groups of the clients that call its service (ENDPOINT_CALLERS): a client
    reaches no AWS API it does not call through the VPC (PCI DSS 1.3.1)."""
    endpoints = interface_endpoints(graph)
    calls = _callers(graph)
    problems = []
    for endpoint in endpoints:
        groups = list(endpoint.inputs.get("securityGroupIds") or [])
        service = endpoint_service(endpoint)
        shared = [
            endpoint_service(other)
            for other in endpoints
            if other is not endpoint
            and set(groups) & set(other.inputs.get("securityGroupIds") or [])
        ]
        if len(groups) != 1 or shared:
            problems.append(
                f"{label(endpoint)} must have one security group of its own; has {groups}"
                + (f", shared with {sorted(shared)}" if shared else "")
            )
        for group in graph.of_type(SECURITY_GROUP):
            if group.id in groups and group.inputs.get("ingress"):
                problems.append(f"{label(group)} has inline ingress rules; use rule resources")
        for rule in rules_on(graph, INGRESS_RULE, groups):
            inputs = rule.inputs
            source = inputs.get("referencedSecurityGroupId")
            if (inputs.get("ipProtocol"), inputs.get("fromPort"), inputs.get("toPort")) != (
                "tcp",
                HTTPS,
                HTTPS,
            ):
                problems.append(f"{label(rule)} opens {label(endpoint)} beyond TCP {HTTPS}")
            if not source:
                problems.append(f"{label(rule)} admits addresses to {label(endpoint)}, not a group")
            elif service not in calls.get(source, set()):
                problems.append(
                    f"{label(rule)} admits {source} to {label(endpoint)}: nothing with that group "
                    f"calls {service}"
                )
    return problems
