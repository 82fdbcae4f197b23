"""The perimeter around the VPC's ways to AWS: every endpoint has a policy that keeps other
accounts' principals out, and the S3 gateway endpoint other accounts' buckets but ECR's image
layers (PCI DSS 1.3.2). Each check is shown failing on a broken graph, the stack rule too."""

from __future__ import annotations

import json
from typing import Any

import pytest
from pulumi_policy import EnforcementLevel

from payments_infra import REPO_ROOT
from payments_infra.components.network.endpoint_policies import ECR_LAYER_BUCKET
from payments_infra.offline.checks_perimeter import (
    check_endpoint_policies,
    check_tasks_behind_endpoints,
)
from payments_infra.offline.graph import Graph, Resource
from payments_infra.offline.mocks import MOCK_ACCOUNT_ID, record_program
from policy.offline_validation import stack_args_for, stack_violations
from policy.rules import STACK_RULES
from tests.stacks import VALID_CONFIG

ENDPOINT = "aws:ec2/vpcEndpoint:VpcEndpoint"
RULE = next(rule for rule in STACK_RULES if rule.name == "vpc-endpoints-closed")


def gateway(graph: Graph) -> Resource:
    (endpoint,) = [e for e in graph.of_type(ENDPOINT) if e.inputs["vpcEndpointType"] == "Gateway"]
    return endpoint


def statements(endpoint: Resource) -> list[dict[str, Any]]:
    return list(json.loads(endpoint.inputs["policy"])["Statement"])


def set_statements(endpoint: Resource, found: list[dict[str, Any]]) -> None:
    endpoint.inputs["policy"] = json.dumps({"Version": "2012-10-17", "Statement": found})


def test_the_s3_gateway_admits_ecr_layers_and_this_accounts_own_buckets_only(graph: Graph) -> None:
    layers, own = statements(gateway(graph))
    assert layers["Action"] == ["s3:GetObject"]
    assert layers["Resource"] == [f"arn:aws:s3:::{ECR_LAYER_BUCKET}/*"]
    assert ECR_LAYER_BUCKET == "prod-us-east-1-starport-layer-bucket"
    assert own["Condition"] == {
        "StringEquals": {
            "aws:PrincipalAccount": MOCK_ACCOUNT_ID,
            "aws:ResourceAccount": MOCK_ACCOUNT_ID,
        }
    }


def test_every_endpoint_passes_the_check_and_the_rule_in_both_endpoint_modes(graph: Graph) -> None:
    without = record_program({**VALID_CONFIG, "payments:vpcEndpoints": "false"}, stack="test")
    for each in (graph, without):
        assert len(each.of_type(ENDPOINT)) in (1, 5)
        assert check_endpoint_policies(each) == []
        assert stack_violations(RULE, stack_args_for(each)) == []


def test_a_gateway_without_a_policy_fails_the_check_and_the_rule(graph: Graph) -> None:
    endpoint = gateway(graph)
    del endpoint.inputs["policy"]
    del endpoint.outputs["policy"]  # the rule reads what the provider reports after an update
    (problem,) = check_endpoint_policies(graph)
    assert "has no endpoint policy" in problem
    (violation,) = stack_violations(RULE, stack_args_for(graph))
    assert "PCI DSS 1.3.2" in violation and "has no endpoint policy" in violation


@pytest.mark.parametrize(
    ("key", "message"),
    [
        ("aws:ResourceAccount", "data can leave for another account's bucket"),
        ("aws:PrincipalAccount", "another account's credentials pass"),
    ],
)
def test_a_gateway_statement_without_either_account_key_fails(
    graph: Graph, key: str, message: str
) -> None:
    layers, own = statements(gateway(graph))
    del own["Condition"]["StringEquals"][key]
    set_statements(gateway(graph), [layers, own])
    (problem,) = check_endpoint_policies(graph)
    assert message in problem and "ThisAccountsBucketsByThisAccountsPrincipals" in problem


def test_any_other_bucket_of_another_account_fails(graph: Graph) -> None:
    layers, own = statements(gateway(graph))
    layers["Resource"] = ["arn:aws:s3:::attacker-bucket/*"]
    set_statements(gateway(graph), [layers, own])
    (problem,) = check_endpoint_policies(graph)
    assert "EcrImageLayers" in problem


def test_an_interface_endpoint_open_to_any_account_fails(graph: Graph) -> None:
    endpoint = next(e for e in graph.of_type(ENDPOINT) if e.inputs["vpcEndpointType"] != "Gateway")
    (statement,) = statements(endpoint)
    del statement["Condition"]
    set_statements(endpoint, [statement])
    (problem,) = check_endpoint_policies(graph)
    assert endpoint.name in problem and "another account's credentials pass" in problem


def test_tasks_without_endpoints_are_flagged_advisory_and_mandatory_in_production(
    graph: Graph,
) -> None:
    rule = next(r for r in STACK_RULES if r.name == "tasks-behind-vpc-endpoints")
    assert check_tasks_behind_endpoints(graph) == []
    without = record_program({**VALID_CONFIG, "payments:vpcEndpoints": "false"}, stack="test")
    (problem,) = check_tasks_behind_endpoints(without)
    assert "api-service" in problem and "payments:vpcEndpoints" in problem
    (violation,) = stack_violations(rule, stack_args_for(without))
    assert "PCI DSS 1.3.2" in violation
    assert rule.enforcement == EnforcementLevel.ADVISORY
    production = json.loads((REPO_ROOT / "policy" / "production.json").read_text())
    assert production[rule.name] == "mandatory"
