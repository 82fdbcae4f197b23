"""Graph-wide checks of the perimeter around the VPC's ways to AWS (PCI DSS 1.3.2).

Every VPC endpoint has a policy. An interface endpoint's admits principals of this account
only (``aws:PrincipalAccount``). The S3 gateway endpoint's admits ECR's image layers (a
``s3:GetObject`` on ECR's layer bucket, nothing else of another account) and, otherwise, only
calls by this account's principals on this account's buckets (``aws:PrincipalAccount`` and
``aws:ResourceAccount`` both). An endpoint with no policy lets anything through.
"""

from __future__ import annotations

import json
from typing import Any

from payments_infra.components.network.endpoint_policies import ECR_LAYER_BUCKET
from payments_infra.offline.checks_conventions import label
from payments_infra.offline.checks_egress import ECS_SERVICE, VPC_ENDPOINT, interface_endpoints
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
