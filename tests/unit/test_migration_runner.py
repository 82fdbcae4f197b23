"""The migration run of each deploy (migration_runner.py), read from the recorded graph: a
function outside the VPC that may run only the migrations task, invoked once per new
migrations revision where the service runs, after everything the migrations need and before the
service's new tasks and the logins' first rotation.

The one-off tasks themselves: test_one_off_tasks.py."""

from __future__ import annotations

import json
from typing import Any

import pytest

from payments_infra.components.api.migration_runner import (
    RUNNER_RESERVED_CONCURRENCY,
    RUNNER_TIMEOUT_SECONDS,
)
from payments_infra.offline.checks_network import subnet_routing
from payments_infra.offline.graph import Graph, Resource
from payments_infra.offline.mocks import MOCK_ACCOUNT_ID
from tests.api_task_queries import (
    API_FAMILY,
    KEYS_FAMILY,
    LOG_GROUP,
    MIGRATIONS_FAMILY,
    ROLE,
    ROLE_POLICY,
    SECRET,
    statements,
)
from tests.graph_queries import named, only, task_definition
from tests.stacks import SUFFIX

FUNCTION = "aws:lambda/function:Function"
INVOCATION = "aws:lambda/invocation:Invocation"
SERVICE = "aws:ecs/service:Service"
ROTATION = "aws:secretsmanager/secretRotation:SecretRotation"
ECS = f"arn:aws:ecs:us-east-1:{MOCK_ACCOUNT_ID}"


def by_name(graph: Graph, name: str) -> Resource:
    (resource,) = [r for r in graph if r.name == name]
    return resource


def the_run(graph: Graph) -> Resource:
    """The migration step of the deploy: the runner's invocation."""
    return only(graph, INVOCATION)


def runner_event(graph: Graph) -> dict[str, Any]:
    return dict(json.loads(the_run(graph).inputs["input"]))


# --- The runner and its invocation -------------------------------------------------------------


def runner(graph: Graph) -> Resource:
    return named(graph, FUNCTION, f"db-migrate-{SUFFIX}")


def test_the_runner_is_a_function_outside_the_vpc_that_one_deploy_at_a_time_runs(
    graph: Graph,
) -> None:
    function = runner(graph)
    role = named(graph, ROLE, f"db-migrate-role-{SUFFIX}")
    assert function.inputs["role"] == role.outputs["arn"]
    assert function.inputs["timeout"] == RUNNER_TIMEOUT_SECONDS == 900
    assert function.inputs["reservedConcurrentExecutions"] == RUNNER_RESERVED_CONCURRENCY == 1
    assert "vpcConfig" not in function.inputs
    group = named(graph, LOG_GROUP, f"/aws/lambda/db-migrate-{SUFFIX}")
    assert function.inputs["loggingConfig"]["logGroup"] == group.inputs["name"]
    assert group.urn in function.dependencies
    trust = json.loads(role.inputs["assumeRolePolicy"])
    assert [s["Principal"] for s in trust["Statement"]] == [{"Service": "lambda.amazonaws.com"}]


def test_the_runner_may_run_only_the_migrations_task_in_this_cluster(graph: Graph) -> None:
    found = statements(graph, f"db-migrate-policy-{SUFFIX}")
    cluster = only(graph, "aws:ecs/cluster:Cluster")
    cluster_name = cluster.inputs["name"]
    execution = named(graph, ROLE, f"ecs-migrations-execution-role-{SUFFIX}")
    migrations_logs = named(graph, LOG_GROUP, f"/ecs/migrations-{SUFFIX}")
    own_logs = named(graph, LOG_GROUP, f"/aws/lambda/db-migrate-{SUFFIX}")
    assert set(found) == {
        "RunTheMigrationsTask",
        "TagTheTaskItStarts",
        "PassItsExecutionRole",
        "WatchAndStopIt",
        "ReadWhereItLogs",
        "ReadItsLog",
        "WriteItsOwnLogs",
        "SendTraces",
    }
    assert found["RunTheMigrationsTask"]["Action"] == ["ecs:RunTask"]
    assert found["RunTheMigrationsTask"]["Resource"] == [
        f"{ECS}:task-definition/{MIGRATIONS_FAMILY}:*"
    ]
    assert found["RunTheMigrationsTask"]["Condition"] == {
        "ArnEquals": {"ecs:cluster": cluster.outputs["arn"]}
    }
    assert found["PassItsExecutionRole"]["Action"] == ["iam:PassRole"]
    assert found["PassItsExecutionRole"]["Resource"] == [execution.outputs["arn"]]
    assert found["PassItsExecutionRole"]["Condition"] == {
        "StringEquals": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}
    }
    tasks = [f"{ECS}:task/{cluster_name}/*"]
    assert sorted(found["WatchAndStopIt"]["Action"]) == ["ecs:DescribeTasks", "ecs:StopTask"]
    assert found["WatchAndStopIt"]["Resource"] == tasks
    assert found["TagTheTaskItStarts"]["Action"] == ["ecs:TagResource"]
    assert found["TagTheTaskItStarts"]["Resource"] == tasks
    assert found["TagTheTaskItStarts"]["Condition"] == {
        "StringEquals": {"ecs:CreateAction": "RunTask"}
    }
    assert found["ReadItsLog"]["Action"] == ["logs:GetLogEvents"]
    assert found["ReadItsLog"]["Resource"] == [f"{migrations_logs.outputs['arn']}:*"]
    assert found["WriteItsOwnLogs"]["Resource"] == [f"{own_logs.outputs['arn']}:*"]
    # "*" only for the actions that take no resource.
    assert found["ReadWhereItLogs"]["Action"] == ["ecs:DescribeTaskDefinition"]
    for sid, statement in found.items():
        if statement["Resource"] in ("*", ["*"]):
            assert sid in {"ReadWhereItLogs", "SendTraces"}, sid


def test_the_runner_can_reach_neither_the_api_nor_the_key_task_nor_a_secret(graph: Graph) -> None:
    policy = named(graph, ROLE_POLICY, f"db-migrate-policy-{SUFFIX}").inputs["policy"]
    for family in (API_FAMILY, KEYS_FAMILY):
        assert f"task-definition/{family}:" not in policy
    for role in ("ecs-task-execution-role", "ecs-task-role", "ecs-keys-execution-role"):
        assert f"role/{role}-{SUFFIX}" not in policy
    assert "secretsmanager:" not in policy and "kms:" not in policy
    (pass_role,) = [
        s
        for s in json.loads(policy)["Statement"]
        if "iam:PassRole" in s["Action"] or "iam:*" in s["Action"]
    ]
    assert len(pass_role["Resource"]) == 1


def test_the_invocation_starts_the_migrations_task_where_the_service_runs(graph: Graph) -> None:
    run = the_run(graph)
    event = runner_event(graph)
    cluster = only(graph, "aws:ecs/cluster:Cluster")
    migrations = task_definition(graph, MIGRATIONS_FAMILY)
    service = only(graph, SERVICE).inputs["networkConfiguration"]
    private = {r.subnet.id for r in subnet_routing(graph) if r.declared_tier == "private"}
    tasks_group = named(graph, "aws:ec2/securityGroup:SecurityGroup", f"api-tasks-sg-{SUFFIX}")
    assert run.inputs["functionName"] == runner(graph).inputs["name"]
    assert event == {
        "cluster": cluster.outputs["arn"],
        "taskDefinition": migrations.outputs["arn"],
        "containerName": "migrations",
        "subnets": event["subnets"],
        "securityGroups": [tasks_group.id],
    }
    assert set(event["subnets"]) == private == set(service["subnets"]) and len(private) == 3
    assert event["securityGroups"] == service["securityGroups"]


def test_a_new_migrations_revision_runs_the_migrations_again(graph: Graph) -> None:
    run = the_run(graph)
    migrations = task_definition(graph, MIGRATIONS_FAMILY)
    assert run.inputs["triggers"] == {"taskDefinition": migrations.outputs["arn"]}


def test_the_service_waits_for_the_migration_run(graph: Graph) -> None:
    run = the_run(graph)
    service = only(graph, SERVICE)
    assert run.urn in service.dependencies
    # The service does not wait for the key task: nothing runs it at deploy.
    assert task_definition(graph, KEYS_FAMILY).urn not in service.dependencies


def test_the_migration_run_waits_for_a_database_its_credentials_and_a_way_there(
    graph: Graph,
) -> None:
    waits_for = set(the_run(graph).dependencies)
    needed = [
        "database-writer",
        "database-master-credentials-value",
        "database-app-credentials-value",
        "database-keys-credentials-value",
        "api-migrations-execution-policy",
        "api-migrations-runner-function",
        "api-tasks-to-db-egress",
        "api-tasks-to-db-ingress",
        *(f"network-private-default-route-us-east-1{z}" for z in "abc"),
        "endpoints-secretsmanager",
        "api-tasks-to-vpce-secretsmanager-ingress",
    ]
    assert [name for name in needed if by_name(graph, name).urn not in waits_for] == []


@pytest.mark.parametrize("role", ["app", "keys"])
def test_a_logins_first_rotation_comes_after_the_migration_run(graph: Graph, role: str) -> None:
    secret = named(graph, SECRET, f"db-{role}-credentials-{SUFFIX}")
    (rotation,) = [r for r in graph.of_type(ROTATION) if r.inputs["secretId"] == secret.id]
    assert the_run(graph).urn in rotation.dependencies


# --- Other stacks ------------------------------------------------------------------------------


def test_without_rotation_the_migrations_still_run_before_the_service(stack_graphs: Any) -> None:
    graph = stack_graphs("rotation-off")
    assert graph.of_type(ROTATION) == []
    assert the_run(graph).urn in only(graph, SERVICE).dependencies
