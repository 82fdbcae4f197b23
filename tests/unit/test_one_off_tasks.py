"""The API image's one-off tasks (one_off_tasks.py), read from the recorded graph: the
migrations, run once per new revision before the service's new tasks, and the key CLI, each
with its own task definition, log group and execution role, and with the database login of
its job only."""

from __future__ import annotations

import json
from typing import Any

import pytest

from payments_infra.components.migration_runner import (
    RUNNER_RESERVED_CONCURRENCY,
    RUNNER_TIMEOUT_SECONDS,
)
from payments_infra.components.one_off_tasks import KEYS_COMMAND, MIGRATE_COMMAND
from payments_infra.offline.checks_network import subnet_routing
from payments_infra.offline.graph import Graph, Resource
from payments_infra.offline.mocks import MOCK_ACCOUNT_ID, MOCK_PASSWORD
from tests.graph_queries import named, only, task_container, task_definition
from tests.stacks import SUFFIX

SECRET = "aws:secretsmanager/secret:Secret"
VERSION = "aws:secretsmanager/secretVersion:SecretVersion"
ROLE = "aws:iam/role:Role"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
FUNCTION = "aws:lambda/function:Function"
INVOCATION = "aws:lambda/invocation:Invocation"
SERVICE = "aws:ecs/service:Service"
ROTATION = "aws:secretsmanager/secretRotation:SecretRotation"

API_FAMILY = f"api-{SUFFIX}"
MIGRATIONS_FAMILY = f"migrations-{SUFFIX}"
KEYS_FAMILY = f"api-keys-{SUFFIX}"
# Family -> (container, its log group, its execution role, that role's policy).
ONE_OFF = {
    MIGRATIONS_FAMILY: (
        "migrations",
        f"/ecs/migrations-{SUFFIX}",
        f"ecs-migrations-execution-role-{SUFFIX}",
        f"ecs-migrations-execution-policy-{SUFFIX}",
    ),
    KEYS_FAMILY: (
        "keys",
        f"/ecs/api-keys-{SUFFIX}",
        f"ecs-keys-execution-role-{SUFFIX}",
        f"ecs-keys-execution-policy-{SUFFIX}",
    ),
}
DB_KEYS = {
    "DB_HOST": "host",
    "DB_PORT": "port",
    "DB_NAME": "dbname",
    "DB_USER": "username",
    "DB_PASSWORD": "password",
}
ECS = f"arn:aws:ecs:us-east-1:{MOCK_ACCOUNT_ID}"


def secret_arn(graph: Graph, role: str) -> str:
    """The ARN of ``db-{role}-credentials`` (master, app, keys)."""
    return str(named(graph, SECRET, f"db-{role}-credentials-{SUFFIX}").outputs["arn"])


def injected(container: dict[str, Any]) -> dict[str, str]:
    return {s["name"]: s["valueFrom"] for s in container.get("secrets", [])}


def environment(container: dict[str, Any]) -> dict[str, str]:
    return {e["name"]: e["value"] for e in container.get("environment", [])}


def statements(graph: Graph, policy_name: str) -> dict[str, dict[str, Any]]:
    policy = named(graph, ROLE_POLICY, policy_name)
    return {s["Sid"]: s for s in json.loads(policy.inputs["policy"])["Statement"]}


def by_name(graph: Graph, name: str) -> Resource:
    (resource,) = [r for r in graph if r.name == name]
    return resource


def the_run(graph: Graph) -> Resource:
    """The migration step of the deploy: the runner's invocation."""
    return only(graph, INVOCATION)


def runner_event(graph: Graph) -> dict[str, Any]:
    return dict(json.loads(the_run(graph).inputs["input"]))


# --- The task definitions ---------------------------------------------------------------------


def test_the_stack_has_three_task_definitions_the_api_and_its_two_one_off_tasks(
    graph: Graph,
) -> None:
    families = sorted(
        t.inputs["family"] for t in graph.of_type("aws:ecs/taskDefinition:TaskDefinition")
    )
    assert families == sorted([API_FAMILY, MIGRATIONS_FAMILY, KEYS_FAMILY])
    assert (
        graph.stack_outputs["keys_task_definition_arn"]
        == task_definition(graph, KEYS_FAMILY).outputs["arn"]
    )
    assert (
        graph.stack_outputs["migrations_task_definition_arn"]
        == task_definition(graph, MIGRATIONS_FAMILY).outputs["arn"]
    )


def test_the_migrations_task_runs_the_migrate_command_of_the_apis_image(graph: Graph) -> None:
    container = task_container(graph, MIGRATIONS_FAMILY)
    assert container["name"] == "migrations"
    assert container["command"] == ["python", "-m", "payments_api.migrate"]
    assert tuple(container["command"]) == MIGRATE_COMMAND
    # The artifact the service runs, migrations included: the same image, by digest.
    assert container["image"] == task_container(graph, API_FAMILY)["image"]
    assert "@sha256:" in container["image"]


def test_the_migrations_task_logs_in_as_the_master_and_gets_the_logins_from_their_secrets(
    graph: Graph,
) -> None:
    container = task_container(graph, MIGRATIONS_FAMILY)
    master, app, keys = (secret_arn(graph, role) for role in ("master", "app", "keys"))
    assert injected(container) == {
        **{env: f"{master}:{key}::" for env, key in DB_KEYS.items()},
        "APP_DB_USER": f"{app}:username::",
        "APP_DB_PASSWORD": f"{app}:password::",
        "KEYS_DB_USER": f"{keys}:username::",
        "KEYS_DB_PASSWORD": f"{keys}:password::",
    }
    # Nothing of the credentials as plain environment: ECS injects them at start.
    plain = environment(container)
    assert not [
        name
        for name in plain
        if name.startswith(("DB_", "APP_DB_", "KEYS_DB_")) or "PASSWORD" in name
    ]
    assert "DATABASE_URL" not in plain
    assert MOCK_PASSWORD not in json.dumps(container)
    assert not [value for value in plain.values() if "secretsmanager" in value]


def test_the_key_task_gets_only_the_key_clis_login(graph: Graph) -> None:
    container = task_container(graph, KEYS_FAMILY)
    keys = secret_arn(graph, "keys")
    assert container["name"] == "keys"
    assert tuple(container["command"]) == KEYS_COMMAND
    assert container["command"][:3] == ["python", "-m", "payments_api.cli.api_keys"]
    assert container["image"] == task_container(graph, API_FAMILY)["image"]
    assert injected(container) == {env: f"{keys}:{key}::" for env, key in DB_KEYS.items()}
    # Whatever command the operator gives it, it never holds the master's or the API's login.
    text = json.dumps(container)
    assert secret_arn(graph, "master") not in text
    assert secret_arn(graph, "app") not in text
    assert MOCK_PASSWORD not in text
    plain = environment(container)
    assert not [name for name in plain if name.startswith("DB_") or "PASSWORD" in name]


@pytest.mark.parametrize("family", sorted(ONE_OFF))
def test_a_one_off_task_runs_hardened_with_no_port_and_no_task_role(
    graph: Graph, family: str
) -> None:
    task = task_definition(graph, family).inputs
    container = task_container(graph, family)
    api = task_definition(graph, API_FAMILY).inputs
    assert container["name"] == ONE_OFF[family][0]
    assert container["user"] == "10001:10001"
    assert container["privileged"] is False
    assert container["readonlyRootFilesystem"] is True
    assert container["mountPoints"] == [
        {"sourceVolume": "tmp", "containerPath": "/tmp", "readOnly": False}
    ]
    assert task["volumes"] == [{"name": "tmp"}]
    assert container["linuxParameters"]["initProcessEnabled"] is True
    assert container["essential"] is True
    assert not container.get("portMappings")
    # No task role: the tasks call no AWS API themselves.
    assert not task.get("taskRoleArn")
    assert task["networkMode"] == "awsvpc" and task["requiresCompatibilities"] == ["FARGATE"]
    assert (task["cpu"], task["memory"]) == ("256", "512")
    assert task["runtimePlatform"] == api["runtimePlatform"]
    # An earlier revision stays runnable, as the service's.
    assert task["skipDestroy"] is True
    assert task["tags"] == {"Name": family}


@pytest.mark.parametrize("family", sorted(ONE_OFF))
def test_a_one_off_task_logs_to_its_own_30_day_group_under_the_logs_key(
    graph: Graph, family: str
) -> None:
    _, group_name, _, _ = ONE_OFF[family]
    container = task_container(graph, family)
    group = named(graph, LOG_GROUP, group_name)
    options = container["logConfiguration"]
    assert options["logDriver"] == "awslogs"
    assert options["options"]["awslogs-group"] == group_name
    assert options["options"]["awslogs-region"] == "us-east-1"
    assert group.inputs["retentionInDays"] == 30
    logs_key = named(graph, "aws:kms/key:Key", f"logs-key-{SUFFIX}")
    assert group.inputs["kmsKeyId"] == logs_key.outputs["arn"]
    # Its own group: not the API's, not the other task's.
    others = {ONE_OFF[f][1] for f in ONE_OFF if f != family} | {f"/ecs/api-{SUFFIX}"}
    assert group_name not in others


# --- Their execution roles --------------------------------------------------------------------


def execution_role(graph: Graph, family: str) -> Resource:
    _, _, role_name, _ = ONE_OFF[family]
    role = named(graph, ROLE, role_name)
    assert task_definition(graph, family).inputs["executionRoleArn"] == role.outputs["arn"]
    return role


@pytest.mark.parametrize("family", sorted(ONE_OFF))
def test_a_one_off_tasks_execution_role_is_its_own_and_trusts_ecs_tasks_only(
    graph: Graph, family: str
) -> None:
    role = execution_role(graph, family)
    _, _, _, policy_name = ONE_OFF[family]
    assert named(graph, ROLE_POLICY, policy_name).inputs["role"] == role.id
    trust = json.loads(role.inputs["assumeRolePolicy"])
    (statement,) = trust["Statement"]
    assert statement["Principal"] == {"Service": "ecs-tasks.amazonaws.com"}
    assert statement["Condition"]["StringEquals"] == {"aws:SourceAccount": MOCK_ACCOUNT_ID}
    api_roles = {
        task_definition(graph, API_FAMILY).inputs[k] for k in ("executionRoleArn", "taskRoleArn")
    }
    assert role.outputs["arn"] not in api_roles


@pytest.mark.parametrize(
    ("family", "secrets"),
    [(MIGRATIONS_FAMILY, ("master", "app", "keys")), (KEYS_FAMILY, ("keys",))],
)
def test_a_one_off_tasks_execution_role_may_read_exactly_its_secrets_pull_the_image_write_its_logs(
    graph: Graph, family: str, secrets: tuple[str, ...]
) -> None:
    _, group_name, _, policy_name = ONE_OFF[family]
    found = statements(graph, policy_name)
    key = next(k for k in graph.of_type("aws:kms/key:Key") if k.name == "database-key")
    repository = only(graph, "aws:ecr/repository:Repository").outputs["arn"]
    group = named(graph, LOG_GROUP, group_name)
    assert set(found) == {
        "WriteTaskLogs",
        "ReadDatabaseSecret",
        "DecryptDatabaseSecret",
        "AuthenticateToEcr",
        "PullApiImage",
    }
    assert sorted(found["ReadDatabaseSecret"]["Resource"]) == sorted(
        secret_arn(graph, role) for role in secrets
    )
    assert found["ReadDatabaseSecret"]["Action"] == ["secretsmanager:GetSecretValue"]
    assert found["DecryptDatabaseSecret"]["Resource"] == [key.outputs["arn"]]
    assert found["DecryptDatabaseSecret"]["Condition"] == {
        "StringEquals": {"kms:ViaService": "secretsmanager.us-east-1.amazonaws.com"}
    }
    assert found["WriteTaskLogs"]["Resource"] == [f"{group.outputs['arn']}:*"]
    assert found["PullApiImage"]["Resource"] == [repository]
    # What the task's container injects is what the role may read, and no more.
    sources = {v.rsplit(":", 3)[0] for v in injected(task_container(graph, family)).values()}
    assert sources == set(found["ReadDatabaseSecret"]["Resource"])


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
        "api-tasks_out_db",
        "database-ingress-from-api-tasks",
        *(f"network-private-default-route-us-east-1{z}" for z in "abc"),
        "endpoints-secretsmanager",
        "endpoints-ingress-from-api-tasks",
    ]
    assert [name for name in needed if by_name(graph, name).urn not in waits_for] == []


@pytest.mark.parametrize("role", ["app", "keys"])
def test_a_logins_first_rotation_comes_after_the_migration_run(graph: Graph, role: str) -> None:
    secret = named(graph, SECRET, f"db-{role}-credentials-{SUFFIX}")
    (rotation,) = [r for r in graph.of_type(ROTATION) if r.inputs["secretId"] == secret.id]
    assert the_run(graph).urn in rotation.dependencies


# --- Other stacks ------------------------------------------------------------------------------


def test_a_prebuilt_x86_image_runs_every_task_on_x86_from_its_repository(stack_graphs: Any) -> None:
    graph = stack_graphs("prebuilt-image-x86")
    images = {task_container(graph, f)["image"] for f in (API_FAMILY, *ONE_OFF)}
    assert len(images) == 1
    for family in (API_FAMILY, *ONE_OFF):
        platform = task_definition(graph, family).inputs["runtimePlatform"]
        assert platform["cpuArchitecture"] == "X86_64", family
    for family in ONE_OFF:
        pull = statements(graph, ONE_OFF[family][3])["PullApiImage"]["Resource"]
        assert pull == [f"arn:aws:ecr:us-east-1:{MOCK_ACCOUNT_ID}:repository/payments-api"]


def test_without_rotation_the_migrations_still_run_before_the_service(stack_graphs: Any) -> None:
    graph = stack_graphs("rotation-off")
    assert graph.of_type(ROTATION) == []
    assert the_run(graph).urn in only(graph, SERVICE).dependencies
