"""Service roles and the confused deputy: every role an AWS service may assume names this
account (``aws:SourceAccount``) or the resources the service acts for (``aws:SourceArn``),
except for the services AWS does not document as sending them (``WITHOUT_SOURCE_KEYS``, each
with its reason). The check and the stack rule are each shown failing on a broken graph."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from payments_infra.aws.service_roles import WITHOUT_SOURCE_KEYS
from payments_infra.offline.checks_access import check_service_trusts
from payments_infra.offline.graph import Graph, Resource
from payments_infra.offline.mocks import MOCK_ACCOUNT_ID
from policy.offline_validation import stack_args_for, stack_violations
from policy.rules import STACK_RULES
from tests.graph_queries import named
from tests.stacks import SUFFIX

ROLE = "aws:iam/role:Role"
RULE = next(rule for rule in STACK_RULES if rule.name == "service-trusts-confused-deputy")


def trust(role: Resource) -> dict[str, Any]:
    (statement,) = json.loads(role.inputs["assumeRolePolicy"])["Statement"]
    return dict(statement)


def set_trust(role: Resource, statement: dict[str, Any]) -> None:
    text = json.dumps({"Version": "2012-10-17", "Statement": [statement]})
    for values in (role.inputs, role.outputs):  # as the program sends it, as AWS returns it
        values["assumeRolePolicy"] = text


@pytest.fixture
def everything(stack_graphs: Callable[[str], Graph]) -> Graph:
    """Every optional part (CloudTrail, Config, the log archive). Never mutate it."""
    return stack_graphs("everything")


def test_every_service_role_passes_the_check_and_the_rule(graph: Graph, everything: Graph) -> None:
    for each in (graph, everything):
        assert check_service_trusts(each) == []
        assert stack_violations(RULE, stack_args_for(each)) == []


def test_the_monitoring_role_names_both_aurora_instances(graph: Graph) -> None:
    conditions = trust(named(graph, ROLE, f"aurora-monitoring-role-{SUFFIX}"))["Condition"]
    instances = graph.of_type("aws:rds/clusterInstance:ClusterInstance")
    assert conditions["StringEquals"] == {"aws:SourceAccount": MOCK_ACCOUNT_ID}
    assert sorted(conditions["ArnLike"]["aws:SourceArn"]) == sorted(
        f"arn:aws:rds:us-east-1:{MOCK_ACCOUNT_ID}:db:{i.inputs['identifier']}" for i in instances
    )


def test_only_lambda_and_cloudtrail_go_without_and_each_says_why(everything: Graph) -> None:
    assert set(WITHOUT_SOURCE_KEYS) == {"lambda.amazonaws.com", "cloudtrail.amazonaws.com"}
    assert all("guide" in reason for reason in WITHOUT_SOURCE_KEYS.values())
    service_roles = [r for r in everything.of_type(ROLE) if "Service" in trust(r)["Principal"]]
    # Every role but break-glass, which people assume (test_custody.py), not services.
    assert len(service_roles) == len(everything.of_type(ROLE)) - 1
    for role in service_roles:
        statement = trust(role)
        if statement["Principal"]["Service"] in WITHOUT_SOURCE_KEYS:
            # No condition on a key the service may not send: it would refuse the service.
            assert "Condition" not in statement, role.name
        else:
            assert statement["Condition"]["StringEquals"], role.name


@pytest.mark.parametrize(
    "role_name", ["vpc-flow-logs-role", "aurora-monitoring-role", "ecs-task-role"]
)
def test_a_service_role_without_its_conditions_fails_the_check_and_the_rule(
    graph: Graph, role_name: str
) -> None:
    role = named(graph, ROLE, f"{role_name}-{SUFFIX}")
    statement = trust(role)
    del statement["Condition"]
    set_trust(role, statement)
    (problem,) = check_service_trusts(graph)
    assert role.name in problem and "without aws:SourceAccount or aws:SourceArn" in problem
    (violation,) = stack_violations(RULE, stack_args_for(graph))
    assert violation.startswith("PCI DSS 7.2.1: ") and role.name in violation


def test_an_exempt_service_does_not_carry_another_in_with_it(graph: Graph) -> None:
    role = named(graph, ROLE, f"db-migrate-role-{SUFFIX}")
    statement = trust(role)
    statement["Principal"]["Service"] = ["lambda.amazonaws.com", "ec2.amazonaws.com"]
    set_trust(role, statement)
    (problem,) = check_service_trusts(graph)
    assert role.name in problem and "ec2.amazonaws.com" in problem


def test_a_condition_on_another_key_is_not_enough(graph: Graph) -> None:
    role = named(graph, ROLE, f"vpc-flow-logs-role-{SUFFIX}")
    statement = trust(role)
    statement["Condition"] = {"StringEquals": {"aws:PrincipalTag/team": "payments"}}
    set_trust(role, statement)
    (problem,) = check_service_trusts(graph)
    assert role.name in problem
