"""functions/db_migration_runner: migrations that fail, a task that never starts or outlives
the deadline (stopped), each failing the invocation with what the deploy needs to know."""

from __future__ import annotations

import logging

import pytest

from functions.db_migration_runner.handler import SAFETY_MARGIN_SECONDS
from functions.db_migration_runner.migration_errors import (
    InvalidEventError,
    MigrationError,
    MigrationFailed,
    MigrationTimeoutError,
    TaskNotStartedError,
)
from functions.db_migration_runner.migration_failure import LOG_TAIL_LINES
from functions.db_migration_runner.migration_task import POLL_SECONDS
from tests.functions.db_migration_runner.runner_rig import (
    ACCOUNT,
    CLUSTER,
    ENVIRONMENT_VALUE,
    EVENT,
    LOG_GROUP,
    LOG_STREAM,
    REGION,
    RUN_TASK_REQUEST,
    SECRET_SOURCE,
    SECURITY_GROUPS,
    SUBNETS,
    TASK_ARN,
    TASK_DEFINITION,
    TASK_ID,
    Rig,
    ecs_task,
    exited,
    task_definition,
)

# --- The migrations fail -------------------------------------------------------------------------


def test_a_non_zero_exit_raises_with_the_exit_code_reason_and_log_lines(rig: Rig) -> None:
    rig.started()
    rig.describes(ecs_task("RUNNING"), exited(1))
    rig.has_log_lines(
        "INFO  [alembic.runtime.migration] Running upgrade 0007 -> 0008, card tokens",
        'psycopg.errors.DuplicateColumn: column "token" of relation "cards" already exists',
    )
    with pytest.raises(MigrationFailed) as failure:
        rig.invoke()
    message = str(failure.value)
    assert f"task {TASK_ARN} stopped" in message
    assert "stopCode EssentialContainerExited: Essential container in task exited" in message
    assert "container 'migrations': exit code 1" in message
    assert f"CloudWatch Logs group {LOG_GROUP}, stream {LOG_STREAM}" in message
    tail = message[message.index("last 2 log lines:") :].splitlines()[1:]
    assert tail == [
        "  INFO  [alembic.runtime.migration] Running upgrade 0007 -> 0008, card tokens",
        '  psycopg.errors.DuplicateColumn: column "token" of relation "cards" already exists',
    ]


def test_only_the_last_lines_of_the_log_are_shown(rig: Rig) -> None:
    rig.started()
    rig.describes(exited(3))
    rig.has_log_lines(*(f"line {n}" for n in range(LOG_TAIL_LINES)), "two\nlines")
    with pytest.raises(MigrationFailed) as failure:
        rig.invoke()
    shown = str(failure.value).split("log lines:\n", 1)[1].splitlines()
    assert len(shown) == LOG_TAIL_LINES
    assert shown[0] == "  line 2"
    assert shown[-2:] == ["  two", "  lines"]


def test_a_task_that_never_started_raises_with_its_stopped_reason(rig: Rig) -> None:
    pull_error = (
        "CannotPullContainerError: pull image manifest has been retried 7 time(s): failed to "
        f"resolve ref {ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/api:0000: not found"
    )
    rig.started()
    rig.describes(
        ecs_task("PENDING"),
        ecs_task(
            "STOPPED",
            container_reason=pull_error,
            stop_code="TaskFailedToStart",
            stopped_reason=pull_error,
        ),
    )
    with pytest.raises(MigrationFailed) as failure:
        rig.invoke()
    message = str(failure.value)
    assert f"stopCode TaskFailedToStart: {pull_error}" in message
    assert "exit code none (it did not run)" in message
    assert f"reason {pull_error}" in message
    # No log stream exists for a container that never ran: the logs are not asked for (the
    # logs Stubber has no answer queued; asking would be reported as unreadable logs).
    assert "the container did not run: no log lines" in message
    assert "could not be read" not in message


def test_log_lines_that_cannot_be_read_do_not_hide_the_failure(rig: Rig) -> None:
    rig.started()
    rig.describes(exited(2))
    rig.logs.add_client_error(
        "get_log_events",
        "AccessDeniedException",
        "not authorized to perform: logs:GetLogEvents",
        expected_params={
            "logGroupName": LOG_GROUP,
            "logStreamName": LOG_STREAM,
            "startFromHead": False,
            "limit": LOG_TAIL_LINES,
        },
    )
    with pytest.raises(MigrationFailed) as failure:
        rig.invoke()
    message = str(failure.value)
    assert "container 'migrations': exit code 2" in message
    assert f"stream {LOG_STREAM}" in message
    assert "the log lines could not be read: AccessDeniedException" in message


def test_without_a_stream_prefix_the_failure_names_the_task_id(rig: Rig) -> None:
    rig.describes_the_task_definition(task_definition({"awslogs-group": LOG_GROUP}))
    rig.runs_the_task()
    rig.describes(exited(1))
    with pytest.raises(MigrationFailed) as failure:
        rig.invoke()
    message = str(failure.value)
    assert f"CloudWatch Logs group {LOG_GROUP} (no stream prefix); task id {TASK_ID}" in message
    assert "exit code 1" in message


def test_the_failure_and_the_logs_never_show_environment_or_secrets(
    rig: Rig, caplog: pytest.LogCaptureFixture
) -> None:
    rig.started()
    rig.describes(ecs_task("RUNNING"), exited(1))
    rig.has_log_lines("alembic.util.exc.CommandError: Can't locate revision identified by 'x'")
    with caplog.at_level(logging.DEBUG), pytest.raises(MigrationFailed) as failure:
        rig.invoke()
    shown = str(failure.value) + "\n".join(r.getMessage() for r in caplog.records)
    for value in (ENVIRONMENT_VALUE, SECRET_SOURCE, "DATABASE_URL", *SUBNETS, *SECURITY_GROUPS):
        assert value not in shown


# --- RunTask starts nothing ----------------------------------------------------------------------


def test_run_task_failures_raise_with_each_arn_reason_and_detail(rig: Rig) -> None:
    rig.describes_the_task_definition()
    rig.ecs.add_response(
        "run_task",
        {
            "tasks": [],
            "failures": [
                {"arn": TASK_DEFINITION, "reason": "RESOURCE:ENI", "detail": "ENI limit reached"},
                {"arn": CLUSTER, "reason": "ClusterNotActive"},
            ],
        },
        RUN_TASK_REQUEST,
    )
    with pytest.raises(TaskNotStartedError) as failure:
        rig.invoke()
    message = str(failure.value)
    assert f"arn {TASK_DEFINITION}: reason RESOURCE:ENI, detail ENI limit reached" in message
    assert f"arn {CLUSTER}: reason ClusterNotActive, detail -" in message


def test_run_task_with_no_task_and_no_failure_raises(rig: Rig) -> None:
    rig.describes_the_task_definition()
    rig.ecs.add_response("run_task", {"tasks": [], "failures": []}, RUN_TASK_REQUEST)
    with pytest.raises(TaskNotStartedError, match="no task and no failure"):
        rig.invoke()


def test_a_container_name_the_task_definition_lacks_raises_before_anything_runs(
    rig: Rig,
) -> None:
    rig.describes_the_task_definition()
    with pytest.raises(InvalidEventError, match=r"'containerName'.*'migrate'.*api, migrations"):
        rig.invoke({**EVENT, "containerName": "migrate"})


# --- The deadline --------------------------------------------------------------------------------


def test_at_the_deadline_the_task_is_stopped_and_the_deploy_fails(rig: Rig) -> None:
    rig.context.remaining_ms = 60_000  # 30 s left after the safety margin
    budget = 60 - SAFETY_MARGIN_SECONDS
    polls = int(budget / POLL_SECONDS) + 1  # at 0, 5, ... 30 s
    rig.started()
    rig.describes(*[ecs_task("RUNNING")] * polls)
    rig.ecs.add_response(
        "stop_task",
        {"task": ecs_task("RUNNING")},
        {"cluster": CLUSTER, "task": TASK_ARN, "reason": "migration runner deadline"},
    )
    with pytest.raises(MigrationTimeoutError) as failure:
        rig.invoke()
    message = str(failure.value)
    assert f"task {TASK_ARN} had not stopped 30 s after it was started; stopped it" in message
    assert "rolls back its one transaction" in message
    assert "the database keeps its previous version" in message
    assert sum(rig.time.sleeps) == budget


def test_a_stop_that_fails_at_the_deadline_still_fails_the_deploy(rig: Rig) -> None:
    rig.context.remaining_ms = 40_000  # 10 s: polls at 0, 5 and 10 s
    rig.started()
    rig.describes(*[ecs_task("RUNNING")] * 3)
    rig.ecs.add_client_error("stop_task", "AccessDeniedException", "not authorized")
    with pytest.raises(MigrationTimeoutError, match=r"could not stop it \(AccessDeniedException\)"):
        rig.invoke()


def test_too_little_time_left_raises_before_the_task_is_started(rig: Rig) -> None:
    rig.context.remaining_ms = int((SAFETY_MARGIN_SECONDS + 1) * 1000)
    with pytest.raises(MigrationError, match="not enough to run the migrations"):
        rig.invoke()
