"""functions/db_migration_runner: the migrations task run, waited for and judged, against
botocore's Stubber (tests/aws_stubs.py): every ECS and CloudWatch Logs request is checked,
every answer is one ECS or CloudWatch Logs could give, and nothing reaches AWS or sleeps."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from botocore.stub import Stubber

from functions.db_migration_runner import handler as runner
from functions.db_migration_runner.handler import (
    LOG_TAIL_LINES,
    PLATFORM_VERSION,
    POLL_SECONDS,
    SAFETY_MARGIN_SECONDS,
    STARTED_BY,
    InvalidEventError,
    MigrationError,
    MigrationFailed,
    MigrationTimeoutError,
    TaskNotStartedError,
)
from tests.aws_stubs import stubbed

REGION = "us-east-1"
ACCOUNT = "123456789012"
CLUSTER = f"arn:aws:ecs:{REGION}:{ACCOUNT}:cluster/ecs-cluster-prod1"
TASK_DEFINITION = f"arn:aws:ecs:{REGION}:{ACCOUNT}:task-definition/api-task-prod1:42"
TASK_ID = "0f6d3c5a9e8b4d2c8a1b7e6f5d4c3b2a"
TASK_ARN = f"arn:aws:ecs:{REGION}:{ACCOUNT}:task/ecs-cluster-prod1/{TASK_ID}"
CONTAINER = "migrations"
SUBNETS = ["subnet-0a1b2c3d4e5f60718", "subnet-0f1e2d3c4b5a69788"]
SECURITY_GROUPS = ["sg-0123456789abcdef0"]
LOG_GROUP = "/ecs/api-prod1"
STREAM_PREFIX = "api"
LOG_STREAM = f"{STREAM_PREFIX}/{CONTAINER}/{TASK_ID}"
REQUEST_ID = "3f1c9a52-6d0e-4b8a-9c57-2e41d0a7b6f3"
# Values in the task definition that must never reach an error or a log line.
ENVIRONMENT_VALUE = "environment-value-never-shown"
SECRET_SOURCE = f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:db-credentials-prod1-AbCdEf"

EVENT: dict[str, Any] = {
    "cluster": CLUSTER,
    "taskDefinition": TASK_DEFINITION,
    "containerName": CONTAINER,
    "subnets": SUBNETS,
    "securityGroups": SECURITY_GROUPS,
}
# The one RunTask request the function may make for EVENT.
RUN_TASK_REQUEST: dict[str, Any] = {
    "cluster": CLUSTER,
    "taskDefinition": TASK_DEFINITION,
    "count": 1,
    "launchType": "FARGATE",
    "platformVersion": "1.4.0",
    "networkConfiguration": {
        "awsvpcConfiguration": {
            "subnets": SUBNETS,
            "securityGroups": SECURITY_GROUPS,
            "assignPublicIp": "DISABLED",
        }
    },
    "startedBy": "pulumi-migrations",
    "propagateTags": "TASK_DEFINITION",
    "enableExecuteCommand": False,
    "clientToken": REQUEST_ID,
}


# --- Fakes and answers ---------------------------------------------------------------------------


@dataclass
class FakeContext:
    """The part of Lambda's context object the function reads."""

    remaining_ms: int = 900_000
    aws_request_id: str = REQUEST_ID

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms


@dataclass
class FakeTime:
    """A monotonic clock that only sleeping moves, and the sleeps asked for."""

    now: float = 1000.0
    sleeps: list[float] = field(default_factory=list)

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def task_definition(log_options: dict[str, str] | None = None) -> dict[str, Any]:
    """DescribeTaskDefinition's answer: the API container and the migrations container, with
    an environment value and a secret, as the real one has."""
    options = (
        log_options
        if log_options is not None
        else {
            "awslogs-group": LOG_GROUP,
            "awslogs-region": REGION,
            "awslogs-stream-prefix": STREAM_PREFIX,
        }
    )

    def container(name: str) -> dict[str, Any]:
        return {
            "name": name,
            "image": f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/api@sha256:{'a' * 64}",
            "essential": name == CONTAINER,
            "environment": [{"name": "SOME_SETTING", "value": ENVIRONMENT_VALUE}],
            "secrets": [{"name": "DATABASE_URL", "valueFrom": f"{SECRET_SOURCE}:url::"}],
            "logConfiguration": {"logDriver": "awslogs", "options": options},
        }

    return {
        "taskDefinition": {
            "taskDefinitionArn": TASK_DEFINITION,
            "family": "api-task-prod1",
            "revision": 42,
            "containerDefinitions": [container("api"), container(CONTAINER)],
        }
    }


def ecs_task(
    status: str,
    *,
    exit_code: int | None = None,
    container_reason: str | None = None,
    stop_code: str | None = None,
    stopped_reason: str | None = None,
) -> dict[str, Any]:
    """One task as DescribeTasks and RunTask describe it."""
    container: dict[str, Any] = {"name": CONTAINER, "taskArn": TASK_ARN, "lastStatus": status}
    if exit_code is not None:
        container["exitCode"] = exit_code
    if container_reason is not None:
        container["reason"] = container_reason
    task: dict[str, Any] = {
        "taskArn": TASK_ARN,
        "clusterArn": CLUSTER,
        "taskDefinitionArn": TASK_DEFINITION,
        "lastStatus": status,
        "desiredStatus": "STOPPED" if status == "STOPPED" else "RUNNING",
        "launchType": "FARGATE",
        "platformVersion": PLATFORM_VERSION,
        "startedBy": STARTED_BY,
        "containers": [container],
    }
    if stop_code is not None:
        task["stopCode"] = stop_code
    if stopped_reason is not None:
        task["stoppedReason"] = stopped_reason
    return task


def exited(code: int) -> dict[str, Any]:
    return ecs_task(
        "STOPPED",
        exit_code=code,
        stop_code="EssentialContainerExited",
        stopped_reason="Essential container in task exited",
    )


@dataclass
class Rig:
    """The function with stubbed ECS and CloudWatch Logs clients in its client cache."""

    ecs: Stubber
    logs: Stubber
    time: FakeTime
    context: FakeContext

    def invoke(self, event: Any = None) -> dict[str, Any]:
        return runner.handler(
            EVENT if event is None else event,
            self.context,
            sleep=self.time.sleep,
            clock=self.time.clock,
        )

    def describes_the_task_definition(self, answer: dict[str, Any] | None = None) -> None:
        self.ecs.add_response(
            "describe_task_definition",
            answer if answer is not None else task_definition(),
            {"taskDefinition": TASK_DEFINITION},
        )

    def runs_the_task(self) -> None:
        self.ecs.add_response(
            "run_task", {"tasks": [ecs_task("PROVISIONING")], "failures": []}, RUN_TASK_REQUEST
        )

    def describes(self, *tasks: dict[str, Any]) -> None:
        for task in tasks:
            self.ecs.add_response(
                "describe_tasks",
                {"tasks": [task], "failures": []},
                {"cluster": CLUSTER, "tasks": [TASK_ARN]},
            )

    def started(self) -> None:
        self.describes_the_task_definition()
        self.runs_the_task()

    def has_log_lines(self, *messages: str) -> None:
        self.logs.add_response(
            "get_log_events",
            {
                "events": [
                    {"timestamp": 1_790_000_000_000 + i, "message": m, "ingestionTime": 1}
                    for i, m in enumerate(messages)
                ],
                "nextForwardToken": "f/1",
                "nextBackwardToken": "b/1",
            },
            {
                "logGroupName": LOG_GROUP,
                "logStreamName": LOG_STREAM,
                "startFromHead": False,
                "limit": LOG_TAIL_LINES,
            },
        )


@pytest.fixture
def rig(monkeypatch: pytest.MonkeyPatch) -> Iterator[Rig]:
    monkeypatch.setenv("AWS_REGION", REGION)
    ecs, ecs_stub = stubbed("ecs")
    logs, logs_stub = stubbed("logs")
    monkeypatch.setattr(runner, "_CLIENTS", {"ecs": ecs, "logs": logs})
    with ecs_stub, logs_stub:
        yield Rig(ecs_stub, logs_stub, FakeTime(), FakeContext())
        # Every queued answer was asked for (in the order queued).
        ecs_stub.assert_no_pending_responses()
        logs_stub.assert_no_pending_responses()


def state_lines(caplog: pytest.LogCaptureFixture) -> list[dict[str, Any]]:
    documents = [json.loads(r.getMessage()) for r in caplog.records if r.getMessage()[:1] == "{"]
    return [d for d in documents if set(d) == {"taskArn", "lastStatus"}]


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
    service = Path(__file__).parents[2] / "payments_infra" / "components" / "service.py"
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


# --- The event -----------------------------------------------------------------------------------


@pytest.mark.parametrize("key", sorted(EVENT))
def test_a_missing_key_raises_naming_it(rig: Rig, key: str) -> None:
    event = {k: v for k, v in EVENT.items() if k != key}
    with pytest.raises(InvalidEventError, match=f"the event lacks '{key}'"):
        rig.invoke(event)


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("cluster", "ecs-cluster-prod1"),
        ("cluster", TASK_DEFINITION),
        ("cluster", None),
        ("taskDefinition", TASK_DEFINITION.rsplit(":", 1)[0]),  # no revision
        ("taskDefinition", "api-task-prod1:42"),
        ("taskDefinition", CLUSTER),
        ("containerName", ""),
        ("containerName", "migrations; rm"),
        ("subnets", []),
        ("subnets", SUBNETS[0]),
        ("subnets", [*SUBNETS, "sg-0123456789abcdef0"]),
        ("subnets", [f"subnet-{n:017x}" for n in range(17)]),
        ("securityGroups", ["subnet-0a1b2c3d4e5f60718"]),
        ("securityGroups", [None]),
        ("securityGroups", [f"sg-{n:017x}" for n in range(6)]),
    ],
)
def test_an_invalid_value_raises_naming_its_key(rig: Rig, key: str, value: Any) -> None:
    with pytest.raises(InvalidEventError, match=f"'{key}'"):
        rig.invoke({**EVENT, key: value})


def test_a_cluster_in_another_region_raises(rig: Rig) -> None:
    elsewhere = CLUSTER.replace(REGION, "eu-west-1")
    with pytest.raises(InvalidEventError, match="'cluster' is in eu-west-1"):
        rig.invoke({**EVENT, "cluster": elsewhere})


def test_a_task_definition_of_another_account_raises(rig: Rig) -> None:
    foreign = TASK_DEFINITION.replace(ACCOUNT, "210987654321")
    with pytest.raises(InvalidEventError, match="different accounts"):
        rig.invoke({**EVENT, "taskDefinition": foreign})


def test_an_event_that_is_not_an_object_raises(rig: Rig) -> None:
    with pytest.raises(InvalidEventError, match="JSON object"):
        rig.invoke([EVENT])


# --- Clients -------------------------------------------------------------------------------------


def test_clients_are_made_once_in_the_functions_region(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_REGION", "eu-central-1")
    monkeypatch.setattr(runner, "_CLIENTS", {})
    ecs = runner.client("ecs")
    assert ecs.meta.region_name == "eu-central-1"
    assert runner.client("ecs") is ecs
