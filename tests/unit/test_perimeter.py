"""The perimeter around the VPC's ways to AWS: every endpoint has a policy that keeps other
accounts' principals out, and the S3 gateway endpoint other accounts' buckets but ECR's image
layers (PCI DSS 1.3.2); every interface endpoint has a group of its own that admits HTTPS from
its callers only (1.3.1). Each check is shown failing on a broken graph, the stack rule too."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from pulumi_policy import EnforcementLevel

from payments_infra import REPO_ROOT
from payments_infra.components.network.endpoint_policies import ECR_LAYER_BUCKET
from payments_infra.offline.checks_perimeter import (
    check_endpoint_callers,
    check_endpoint_policies,
    check_tasks_behind_endpoints,
)
from payments_infra.offline.graph import Graph, Resource
from payments_infra.offline.mocks import MOCK_ACCOUNT_ID, record_program
from policy.offline_validation import stack_args_for, stack_violations
from policy.rules import STACK_RULES
from tests.stacks import SUFFIX, VALID_CONFIG

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


# -- each endpoint's own group admits its callers only (check_endpoint_callers) ---------------

INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
GROUP = "aws:ec2/securityGroup:SecurityGroup"
CALLERS_RULE = next(rule for rule in STACK_RULES if rule.name == "vpc-endpoints-admit-callers-only")


def endpoint_of(graph: Graph, service: str) -> Resource:
    return next(
        e for e in graph.of_type(ENDPOINT) if e.inputs["serviceName"].endswith(f".{service}")
    )


def group_named(graph: Graph, name: str) -> Resource:
    return next(g for g in graph.of_type(GROUP) if g.inputs["name"] == f"{name}-{SUFFIX}")


def admit(graph: Graph, service: str, **inputs: Any) -> Resource:
    """A new ingress rule on the endpoint's group, as a broken program would add it."""
    (template,) = [r for r in graph.of_type(INGRESS) if r.name == "api-tasks-to-vpce-logs-ingress"]
    rule = copy.deepcopy(template)
    rule.urn, rule.name = f"{template.urn}-broken", "broken-ingress"
    (group,) = endpoint_of(graph, service).inputs["securityGroupIds"]
    for values in (rule.inputs, rule.outputs):  # as the program sends it, as AWS returns it
        values.update({"securityGroupId": group, **inputs})
    graph.resources.append(rule)
    return rule


def test_each_endpoint_admits_its_callers_only_in_both_endpoint_modes(graph: Graph) -> None:
    without = record_program({**VALID_CONFIG, "payments:vpcEndpoints": "false"}, stack="test")
    for each in (graph, without):
        assert check_endpoint_callers(each) == []
        assert stack_violations(CALLERS_RULE, stack_args_for(each)) == []


def test_the_rotation_function_let_into_an_endpoint_it_never_calls_fails(graph: Graph) -> None:
    rotation = group_named(graph, "db-rotation-sg")
    admit(graph, "ecr.api", referencedSecurityGroupId=rotation.id)
    (problem,) = check_endpoint_callers(graph)
    assert "broken-ingress" in problem and "nothing with that group calls ecr.api" in problem
    (violation,) = stack_violations(CALLERS_RULE, stack_args_for(graph))
    assert violation.startswith("PCI DSS 1.3.1: ") and "calls ecr.api" in violation


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"referencedSecurityGroupId": None, "cidrIpv4": "10.0.0.0/16"}, "admits addresses"),
        ({"fromPort": 0, "toPort": 65535}, "beyond TCP 443"),
        ({"ipProtocol": "-1"}, "beyond TCP 443"),
    ],
)
def test_an_endpoint_opened_to_addresses_or_other_ports_fails(
    graph: Graph, change: dict[str, Any], message: str
) -> None:
    tasks = group_named(graph, "api-tasks-sg")
    admit(graph, "logs", **{"referencedSecurityGroupId": tasks.id, **change})
    (problem,) = check_endpoint_callers(graph)
    assert "broken-ingress" in problem and message in problem


def test_endpoints_sharing_one_group_fail(graph: Graph) -> None:
    shared = endpoint_of(graph, "ecr.api").inputs["securityGroupIds"]
    endpoint_of(graph, "logs").inputs["securityGroupIds"] = list(shared)
    problems = check_endpoint_callers(graph)
    assert any("endpoints-logs must have one security group of its own" in p for p in problems)
    assert any("shared with ['ecr.api']" in p for p in problems)
