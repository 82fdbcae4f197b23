"""The migration runner's test rig: the event and the RunTask request it must make, fake time
and Lambda context, ECS's and CloudWatch Logs' answers, and the Rig that queues them on the
Stubbers and invokes the handler."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import pytest
from botocore.stub import Stubber

from functions.db_migration_runner import handler as runner
from functions.db_migration_runner.migration_failure import LOG_TAIL_LINES
from functions.db_migration_runner.migration_task import PLATFORM_VERSION, STARTED_BY

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


def state_lines(caplog: pytest.LogCaptureFixture) -> list[dict[str, Any]]:
    documents = [json.loads(r.getMessage()) for r in caplog.records if r.getMessage()[:1] == "{"]
    return [d for d in documents if set(d) == {"taskArn", "lastStatus"}]
