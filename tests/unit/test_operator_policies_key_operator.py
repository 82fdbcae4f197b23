"""The key operator's policy (operator_policies.py): it passes only the key task's execution
role and runs only the key task's family in the stack's cluster, reading only its logs."""

from __future__ import annotations

from payments_infra.offline import operator_policies as op
from payments_infra.offline.graph import Graph
from tests.graph_queries import task_definition
from tests.operator_policy_queries import (
    ACCOUNT,
    actions_of,
    allowing,
    statements_of,
)
from tests.stacks import SUFFIX


def test_the_key_operator_passes_only_the_key_tasks_execution_role_to_ecs_tasks(
    recorded_graph: Graph, policies: dict[str, op.Policy]
) -> None:
    task = task_definition(recorded_graph, f"api-keys-{SUFFIX}")
    assert not task.inputs.get("taskRoleArn")  # the key task has no task role
    role = str(task.inputs["executionRoleArn"]).rsplit("/", 1)[-1]
    expected = [f"arn:aws:iam::{ACCOUNT}:role/{role}"]
    assert expected == [f"arn:aws:iam::{ACCOUNT}:role/ecs-keys-execution-role-{SUFFIX}"]
    key_operator = policies["key-operator.json"]
    passing = [s for s in statements_of(key_operator) if "iam:PassRole" in s["Action"]]
    assert [s["Resource"] for s in passing] == [expected]
    assert (
        passing[0]["Condition"]["StringEquals"]["iam:PassedToService"] == "ecs-tasks.amazonaws.com"
    )
    # Not the roles of the API's tasks (the API's login, its task role), nor the migrations'
    # (the master's credentials).
    for other in (
        "ecs-task-execution-role",
        "ecs-task-role",
        "ecs-migrations-execution-role",
        "db-migrate-role",
    ):
        assert not allowing(
            key_operator, "iam:PassRole", f"arn:aws:iam::{ACCOUNT}:role/{other}-{SUFFIX}"
        ), other


def test_the_key_operator_runs_only_the_key_task_family_in_the_stacks_cluster(
    policies: dict[str, op.Policy],
) -> None:
    key_operator = policies["key-operator.json"]
    ecs = f"arn:aws:ecs:us-east-1:{ACCOUNT}"
    running = [s for s in statements_of(key_operator) if "ecs:RunTask" in s["Action"]]
    assert [s["Resource"] for s in running] == [[f"{ecs}:task-definition/api-keys-{SUFFIX}:*"]]
    assert running[0]["Condition"]["ArnEquals"] == {
        "ecs:cluster": f"{ecs}:cluster/ecs-cluster-{SUFFIX}"
    }
    assert not allowing(key_operator, "ecs:RunTask", f"{ecs}:task-definition/other:1")
    # Not the API's family (its login reads payments) nor the migrations' (the master's).
    for family in (f"api-{SUFFIX}", f"migrations-{SUFFIX}"):
        assert not allowing(key_operator, "ecs:RunTask", f"{ecs}:task-definition/{family}:7")
    # It reads the key task's output, not the API's logs.
    logs = f"arn:aws:logs:us-east-1:{ACCOUNT}:log-group:"
    assert allowing(key_operator, "logs:FilterLogEvents", f"{logs}/ecs/api-keys-{SUFFIX}:*")
    assert not allowing(key_operator, "logs:FilterLogEvents", f"{logs}/ecs/api-{SUFFIX}:*")
    assert actions_of(key_operator) == {
        "ecs:DescribeServices",
        "ecs:RunTask",
        "iam:PassRole",
        "ecs:DescribeTasks",
        "logs:FilterLogEvents",
    }
    assert not [s for s in statements_of(key_operator) if "*" in s["Resource"]]
