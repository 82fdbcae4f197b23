"""functions/db_migration_runner: migrations that succeed, what is logged and asked of ECS on
the way, the lifecycle invocations that run nothing, and the function's clients."""

from __future__ import annotations

import logging
import re
from pathlib import Path

import pytest

from functions.db_migration_runner import handler as runner
from functions.db_migration_runner.migration_task import (
    PLATFORM_VERSION,
    POLL_SECONDS,
    STARTED_BY,
)
from tests.functions.db_migration_runner.runner_rig import (
    CLUSTER,
    EVENT,
    RUN_TASK_REQUEST,
    TASK_ARN,
    Rig,
    ecs_task,
    exited,
    state_lines,
)

# --- Success -------------------------------------------------------------------------------------


def test_migrations_that_exit_0_after_pending_and_running_succeed(rig: Rig) -> None:
    rig.started()
    rig.describes(ecs_task("PENDING"), ecs_task("RUNNING"), exited(0))
    result = rig.invoke()
    assert result == {"taskArn": TASK_ARN, "exitCode": 0, "durationSeconds": 2 * POLL_SECONDS}
    assert rig.time.sleeps == [POLL_SECONDS, POLL_SECONDS]


def test_one_json_line_is_logged_per_change_of_state(
    rig: Rig, caplog: pytest.LogCaptureFixture
) -> None:
    rig.started()
    rig.describes(ecs_task("PENDING"), ecs_task("RUNNING"), ecs_task("RUNNING"), exited(0))
    with caplog.at_level(logging.INFO):
        rig.invoke()
    assert state_lines(caplog) == [
        {"taskArn": TASK_ARN, "lastStatus": "PENDING"},
        {"taskArn": TASK_ARN, "lastStatus": "RUNNING"},
        {"taskArn": TASK_ARN, "lastStatus": "STOPPED"},
    ]


def test_run_task_is_asked_exactly_once_with_the_expected_request(rig: Rig) -> None:
    # The Stubber compares RunTask's parameters with RUN_TASK_REQUEST and fails on any
    # difference: Fargate 1.4.0, private subnets, no public IP, no ECS Exec, the tags of the
    # task definition, started by pulumi-migrations, the invocation's id as idempotency token.
    rig.started()
    rig.describes(exited(0))
    rig.invoke()
    network = RUN_TASK_REQUEST["networkConfiguration"]["awsvpcConfiguration"]
    assert network["assignPublicIp"] == "DISABLED"
    assert RUN_TASK_REQUEST["enableExecuteCommand"] is False


def test_started_by_fits_ecs_limit_of_36_characters() -> None:
    assert len(STARTED_BY) <= 36
    assert re.fullmatch(r"[A-Za-z0-9_-]+", STARTED_BY)


def test_platform_version_is_the_one_the_service_runs_on() -> None:
    service = Path(__file__).parents[3] / "payments_infra" / "components" / "api" / "service.py"
    pinned = set(re.findall(r'platform_version="([^"]+)"', service.read_text()))
    assert pinned == {PLATFORM_VERSION}


def test_a_task_ecs_does_not_know_yet_is_waited_for(rig: Rig) -> None:
    rig.started()
    rig.ecs.add_response(
        "describe_tasks",
        {"tasks": [], "failures": [{"arn": TASK_ARN, "reason": "MISSING"}]},
        {"cluster": CLUSTER, "tasks": [TASK_ARN]},
    )
    rig.describes(ecs_task("RUNNING"), exited(0))
    assert rig.invoke()["exitCode"] == 0


def test_the_lifecycle_delete_of_a_crud_invocation_runs_nothing(rig: Rig) -> None:
    event = {**EVENT, "tf": {"action": "delete", "prev_input": EVENT}}
    assert rig.invoke(event) == {"skipped": "delete"}


def test_the_lifecycle_key_of_a_crud_create_is_ignored(rig: Rig) -> None:
    rig.started()
    rig.describes(exited(0))
    assert rig.invoke({**EVENT, "tf": {"action": "create", "prev_input": None}})["exitCode"] == 0


# --- Clients -------------------------------------------------------------------------------------


def test_clients_are_made_once_in_the_functions_region(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_REGION", "eu-central-1")
    monkeypatch.setattr(runner, "_CLIENTS", {})
    ecs = runner.client("ecs")
    assert ecs.meta.region_name == "eu-central-1"
    assert runner.client("ecs") is ecs
