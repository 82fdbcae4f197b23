"""The API image's one-off tasks (one_off_tasks.py), read from the recorded graph: the
migrations and the key CLI, each with its own task definition, log group and execution role,
and with the database login of its job only.

What runs the migrations at each deploy (the runner and its invocation):
test_migration_runner.py."""

from __future__ import annotations

import json
from typing import Any

import pytest

from payments_infra.components.api.one_off_tasks import KEYS_COMMAND, MIGRATE_COMMAND
from payments_infra.offline.graph import Graph, Resource
from payments_infra.offline.mocks import MOCK_ACCOUNT_ID, MOCK_PASSWORD
from tests.api_task_queries import (
    API_FAMILY,
    KEYS_FAMILY,
    LOG_GROUP,
    MIGRATIONS_FAMILY,
    ROLE,
    ROLE_POLICY,
    secret_arn,
    statements,
)
from tests.graph_queries import named, only, task_container, task_definition
from tests.stacks import SUFFIX

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


def injected(container: dict[str, Any]) -> dict[str, str]:
    return {s["name"]: s["valueFrom"] for s in container.get("secrets", [])}


def environment(container: dict[str, Any]) -> dict[str, str]:
    return {e["name"]: e["value"] for e in container.get("environment", [])}


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
