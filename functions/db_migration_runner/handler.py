"""Run the database migrations as a one-off ECS Fargate task; fail the deploy if they fail.

Pulumi's ``aws.lambda_.Invocation`` invokes this function synchronously during ``pulumi up``,
with this event (every key required)::

    {"cluster": "<ECS cluster ARN>",
     "taskDefinition": "<task definition ARN, with its revision>",
     "containerName": "migrations",
     "subnets": ["subnet-..."], "securityGroups": ["sg-..."]}

The Invocation invokes it again when its ``triggers`` change; the stack puts the task
definition's ARN there, so a new image (a new revision) runs the migrations again.

1. DescribeTaskDefinition: the container ``containerName`` must be in the task definition
   (checked before anything runs); its awslogs options say where its output goes.
2. RunTask: one Fargate task (platform ``PLATFORM_VERSION``, pinned as the service's is), in
   the given subnets and security groups, no public IP, no ECS Exec, the task definition's
   tags, ``startedBy`` ``STARTED_BY``, the invocation's request id as the idempotency token.
   Failures in the answer, or no task, raise TaskNotStartedError.
3. DescribeTasks every ``POLL_SECONDS`` until the task's lastStatus is STOPPED, or until the
   deadline: the invocation's remaining time less ``SAFETY_MARGIN_SECONDS``. At the deadline,
   StopTask and raise MigrationTimeoutError. A stopped migration rolls back its one transaction,
   so the database keeps its previous version.
4. Success is the container ``containerName`` exiting with 0. Anything else raises
   MigrationFailed with the task's stop code and stopped reason, the container's exit code
   and reason, the CloudWatch log stream of its output
   (``<awslogs-stream-prefix>/<containerName>/<task id>`` in ``awslogs-group``) and the last
   ``LOG_TAIL_LINES`` lines of that stream. Logs that cannot be read are said to be so; they
   never hide the failure.

An exception fails the invocation, so the Invocation resource fails and ``pulumi up`` stops.
The ECS service depends on the invocation: it is not updated, and the tasks it runs keep
serving with the schema they were built for.

Why a task, and not this function connecting to the database from inside the VPC: the
migrations (Alembic, in app/api) ship in the API's own image, with psycopg's binary wheels for
the image's platform: one tested artifact, and the same code the tests run. A Lambda archive
here packs only pure-Python wheels (payments_infra/aws/function_code.py), and Alembic's Mako
needs MarkupSafe, which has no pure wheel. This function only calls AWS APIs, so it needs no
VPC and no database credentials.

Logged: one JSON line per change of the task's lastStatus (task ARN, lastStatus) and the ids
of the cluster, task definition and task. Never the task definition's environment, the
task's overrides or secrets: errors and logs carry names, ARNs, ids, codes and reasons only
(the task's secrets are ECS ``secrets``, which DescribeTasks does not return anyway).

boto3 only, from the Lambda runtime.
"""

from __future__ import annotations

import json
import logging
import os
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

LOG = logging.getLogger(__name__)
LOG.setLevel(logging.INFO)
# At DEBUG, botocore logs request and response bodies (a task definition's environment too).
for _library in ("boto3", "botocore", "urllib3"):
    logging.getLogger(_library).setLevel(logging.WARNING)

# --- The task ------------------------------------------------------------------------------------
PLATFORM_VERSION = "1.4.0"  # as payments_infra/components/service.py pins the service's
STARTED_BY = "pulumi-migrations"  # RunTask: at most 36 letters, digits, hyphens, underscores
STOP_REASON = "migration runner deadline"
STOPPED = "STOPPED"

# --- Waiting -------------------------------------------------------------------------------------
POLL_SECONDS = 5.0
# Kept back from the invocation's remaining time: StopTask, the logs and the error need it.
SAFETY_MARGIN_SECONDS = 30.0

# --- The error message ---------------------------------------------------------------------------
LOG_TAIL_LINES = 20
MAX_LOG_LINE_CHARS = 500

# --- The event (ECS and EC2 formats) -------------------------------------------------------------
_ARN = r"arn:aws[a-z-]*:ecs:(?P<region>[a-z0-9-]+):(?P<account>\d{12}):"
CLUSTER_ARN = re.compile(_ARN + r"cluster/(?P<name>[A-Za-z0-9_-]{1,255})")
TASK_DEFINITION_ARN = re.compile(
    _ARN + r"task-definition/(?P<family>[A-Za-z0-9_-]{1,255}):(?P<revision>[1-9]\d*)"
)
CONTAINER_NAME = re.compile(r"[A-Za-z0-9_-]{1,255}")
SUBNET_ID = re.compile(r"subnet-[0-9a-f]{8,17}")
SECURITY_GROUP_ID = re.compile(r"sg-[0-9a-f]{8,17}")
MAX_SUBNETS = 16  # awsvpcConfiguration
MAX_SECURITY_GROUPS = 5

Sleep = Callable[[float], None]
Clock = Callable[[], float]


class MigrationError(RuntimeError):
    """The migrations did not run to success. Messages carry ids, codes and reasons only."""


class InvalidEventError(MigrationError, ValueError):
    """The event lacks a key, or a key's value is not what it must be."""


class TaskNotStartedError(MigrationError):
    """RunTask started no task."""


class MigrationTimeoutError(MigrationError):
    """The task had not stopped by the deadline; it was stopped."""


class MigrationFailed(MigrationError):  # noqa: N818 (the name the deploy reports)
    """The task stopped, and the migrations container did not exit with 0."""


@dataclass(frozen=True)
class Request:
    """The event, checked."""

    cluster: str
    task_definition: str
    container_name: str
    subnets: tuple[str, ...]
    security_groups: tuple[str, ...]


@dataclass(frozen=True)
class LogLocation:
    """Where the container's output goes (its awslogs options); None when not awslogs."""

    group: str | None
    stream_prefix: str | None

    def stream(self, container_name: str, task_id: str) -> str | None:
        """The awslogs stream of one task's container: ``prefix/container/task id``."""
        if self.stream_prefix is None:
            return None
        return f"{self.stream_prefix}/{container_name}/{task_id}"


# --- The event -----------------------------------------------------------------------------------


def _shown(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 120 else text[:117] + "..."


def _string(event: dict[str, Any], key: str, pattern: re.Pattern[str], what: str) -> str:
    if key not in event:
        raise InvalidEventError(f"the event lacks {key!r} ({what})")
    value = event[key]
    if not isinstance(value, str) or not pattern.fullmatch(value):
        raise InvalidEventError(f"event key {key!r} must be {what}, not {_shown(value)}")
    return value


def _ids(
    event: dict[str, Any], key: str, pattern: re.Pattern[str], what: str, most: int
) -> tuple[str, ...]:
    if key not in event:
        raise InvalidEventError(f"the event lacks {key!r} (a list of {what})")
    value = event[key]
    if not isinstance(value, list) or not 1 <= len(value) <= most:
        raise InvalidEventError(
            f"event key {key!r} must be a list of 1 to {most} {what}, not {_shown(value)}"
        )
    wrong = [item for item in value if not isinstance(item, str) or not pattern.fullmatch(item)]
    if wrong:
        raise InvalidEventError(
            f"event key {key!r} holds what is not one of {what}: {_shown(wrong)}"
        )
    return tuple(value)


def parse_event(event: object, region: str | None = None) -> Request:
    """The event as a Request; InvalidEventError naming the first key that is missing or wrong.

    With ``region`` (the function's), the cluster and the task definition must be in it, as
    they must be in one account with each other: otherwise ECS answers with a less clear
    error.
    """
    if not isinstance(event, dict):
        raise InvalidEventError(f"the event must be a JSON object, not {type(event).__name__}")
    cluster = _string(event, "cluster", CLUSTER_ARN, "an ECS cluster ARN")
    task_definition = _string(
        event,
        "taskDefinition",
        TASK_DEFINITION_ARN,
        "an ECS task definition ARN with its revision (...:task-definition/<family>:<n>)",
    )
    container_name = _string(
        event, "containerName", CONTAINER_NAME, "a container name (letters, digits, - and _)"
    )
    subnets = _ids(event, "subnets", SUBNET_ID, "subnet ids (subnet-...)", MAX_SUBNETS)
    groups = _ids(
        event,
        "securityGroups",
        SECURITY_GROUP_ID,
        "security group ids (sg-...)",
        MAX_SECURITY_GROUPS,
    )
    cluster_arn = CLUSTER_ARN.fullmatch(cluster)
    definition_arn = TASK_DEFINITION_ARN.fullmatch(task_definition)
    assert cluster_arn is not None and definition_arn is not None  # checked above
    if cluster_arn["account"] != definition_arn["account"]:
        raise InvalidEventError("event keys 'cluster' and 'taskDefinition' name different accounts")
    for key, arn in (("cluster", cluster_arn), ("taskDefinition", definition_arn)):
        if region and arn["region"] != region:
            raise InvalidEventError(
                f"event key {key!r} is in {arn['region']}; this function runs in {region}"
            )
    return Request(cluster, task_definition, container_name, subnets, groups)


# --- ECS -----------------------------------------------------------------------------------------


def log_location(ecs: Any, request: Request) -> LogLocation:
    """The awslogs group and stream prefix of the container; InvalidEventError if the task
    definition has no container of that name (checked before the task runs, not after)."""
    definition = ecs.describe_task_definition(taskDefinition=request.task_definition)
    containers = definition["taskDefinition"].get("containerDefinitions", [])
    container = next((c for c in containers if c.get("name") == request.container_name), None)
    if container is None:
        names = ", ".join(sorted(str(c.get("name")) for c in containers)) or "none"
        raise InvalidEventError(
            f"event key 'containerName': {request.task_definition} has no container named "
            f"{request.container_name!r} (it has: {names})"
        )
    logging_config = container.get("logConfiguration") or {}
    if logging_config.get("logDriver") != "awslogs":
        return LogLocation(None, None)
    options = logging_config.get("options") or {}
    return LogLocation(options.get("awslogs-group"), options.get("awslogs-stream-prefix"))


def start_task(ecs: Any, request: Request, client_token: str | None) -> str:
    """RunTask; the new task's ARN, or TaskNotStartedError with each failure ECS gave."""
    run: dict[str, Any] = {
        "cluster": request.cluster,
        "taskDefinition": request.task_definition,
        "count": 1,
        "launchType": "FARGATE",
        "platformVersion": PLATFORM_VERSION,
        "networkConfiguration": {
            "awsvpcConfiguration": {
                "subnets": list(request.subnets),
                "securityGroups": list(request.security_groups),
                "assignPublicIp": "DISABLED",
            }
        },
        "startedBy": STARTED_BY,
        "propagateTags": "TASK_DEFINITION",
        "enableExecuteCommand": False,
    }
    if client_token:
        run["clientToken"] = client_token
    response = ecs.run_task(**run)
    failures = response.get("failures") or []
    tasks = response.get("tasks") or []
    if failures or not tasks:
        described = "; ".join(
            f"arn {f.get('arn', '-')}: reason {f.get('reason', '-')}, detail {f.get('detail', '-')}"
            for f in failures
        )
        raise TaskNotStartedError(
            f"RunTask started no migrations task from {request.task_definition} in "
            f"{request.cluster}: {described or 'no task and no failure in the answer'}"
        )
    return str(tasks[0]["taskArn"])


def describe_task(ecs: Any, cluster: str, task_arn: str) -> dict[str, Any] | None:
    """The task, or None while ECS does not know it yet (a MISSING failure: DescribeTasks is
    eventually consistent just after RunTask). Any other failure raises."""
    response = ecs.describe_tasks(cluster=cluster, tasks=[task_arn])
    tasks = response.get("tasks") or []
    if tasks:
        return dict(tasks[0])
    failures = response.get("failures") or []
    if all(f.get("reason") == "MISSING" for f in failures):
        return None
    described = "; ".join(f"{f.get('reason', '-')} {f.get('detail', '')}".strip() for f in failures)
    raise MigrationError(f"DescribeTasks could not describe {task_arn}: {described}")


def task_id(task_arn: str) -> str:
    """The id at the end of a task ARN (``.../task/<cluster>/<id>``)."""
    return task_arn.rsplit("/", 1)[-1]


def log_state(task_arn: str, status: str) -> None:
    LOG.info(json.dumps({"taskArn": task_arn, "lastStatus": status}))


def wait_until_stopped(
    ecs: Any,
    cluster: str,
    task_arn: str,
    deadline: float,
    *,
    sleep: Sleep,
    clock: Clock,
) -> dict[str, Any] | None:
    """The task once its lastStatus is STOPPED; None if the deadline came first."""
    last_status: str | None = None
    while True:
        task = describe_task(ecs, cluster, task_arn)
        status = str(task.get("lastStatus", "UNKNOWN")) if task is not None else "MISSING"
        if status != last_status:
            log_state(task_arn, status)
            last_status = status
        if task is not None and status == STOPPED:
            return task
        left = deadline - clock()
        if left <= 0:
            return None
        sleep(min(POLL_SECONDS, left))


# --- The failure message -------------------------------------------------------------------------


def log_tail(logs: Any, group: str, stream: str) -> tuple[list[str], str | None]:
    """The stream's last LOG_TAIL_LINES lines, each cut to MAX_LOG_LINE_CHARS; or no lines and
    why they could not be read. Never raises: the migration failure matters more."""
    try:
        response = logs.get_log_events(
            logGroupName=group, logStreamName=stream, startFromHead=False, limit=LOG_TAIL_LINES
        )
        lines: list[str] = []
        for event in response.get("events", []):
            for line in str(event.get("message", "")).splitlines() or [""]:
                lines.append(
                    line if len(line) <= MAX_LOG_LINE_CHARS else line[:MAX_LOG_LINE_CHARS] + "..."
                )
        return lines[-LOG_TAIL_LINES:], None
    except ClientError as error:
        return [], str(error.response.get("Error", {}).get("Code") or error)
    except Exception as error:  # whatever the reason: say so, and raise the failure all the same
        return [], type(error).__name__


def failure_message(
    task: dict[str, Any],
    container_name: str,
    location: LogLocation,
    logs: Any,
) -> str:
    """What MigrationFailed says: how the task stopped, the container's exit, its logs."""
    task_arn = str(task.get("taskArn", "-"))
    container = next(
        (c for c in task.get("containers", []) if c.get("name") == container_name), None
    )
    exit_code = container.get("exitCode") if container else None
    reason = (container.get("reason") if container else None) or "-"
    lines = [
        f"database migrations failed: task {task_arn} stopped "
        f"(stopCode {task.get('stopCode', '-')}: {task.get('stoppedReason', '-')})",
        f"container {container_name!r}: "
        + (
            "not in the stopped task"
            if container is None
            else f"exit code {exit_code if exit_code is not None else 'none (it did not run)'}"
            f", reason {reason}"
        ),
    ]
    stream = location.stream(container_name, task_id(task_arn))
    if location.group is None:
        lines.append(
            f"logs: the container does not log to CloudWatch Logs; task id {task_id(task_arn)}"
        )
        return "\n".join(lines)
    if stream is None:
        lines.append(
            f"logs: CloudWatch Logs group {location.group} (no stream prefix); "
            f"task id {task_id(task_arn)}"
        )
        return "\n".join(lines)
    lines.append(f"logs: CloudWatch Logs group {location.group}, stream {stream}")
    if exit_code is None:
        lines.append("(the container did not run: no log lines)")
        return "\n".join(lines)
    tail, unreadable = log_tail(logs, location.group, stream)
    if unreadable is not None:
        lines.append(f"(the log lines could not be read: {unreadable})")
    elif tail:
        lines.append(f"last {len(tail)} log lines:")
        lines.extend(f"  {line}" for line in tail)
    else:
        lines.append("(the log stream has no lines)")
    return "\n".join(lines)


def stop_at_deadline(
    ecs: Any, request: Request, task_arn: str, waited: float
) -> MigrationTimeoutError:
    """StopTask; the MigrationTimeoutError to raise, saying whether ECS accepted the stop."""
    try:
        ecs.stop_task(cluster=request.cluster, task=task_arn, reason=STOP_REASON)
        outcome = "stopped it"
    except ClientError as error:
        outcome = (
            f"could not stop it ({error.response.get('Error', {}).get('Code')}): stop it by hand"
        )
    except BotoCoreError as error:
        outcome = f"could not stop it ({type(error).__name__}): stop it by hand"
    LOG.info(json.dumps({"taskArn": task_arn, "stopTask": STOP_REASON, "outcome": outcome}))
    return MigrationTimeoutError(
        f"database migrations did not finish in time: task {task_arn} had not stopped "
        f"{waited:.0f} s after it was started; {outcome} (reason {STOP_REASON!r}). A stopped "
        "migration rolls back its one transaction, so the database keeps its previous "
        "version. Raise the function's timeout, or see in the task's logs why the migrations "
        "are slow."
    )


# --- The handler ---------------------------------------------------------------------------------


def run_migrations(
    request: Request,
    ecs: Any,
    logs: Any,
    *,
    remaining_ms: int,
    client_token: str | None,
    sleep: Sleep = time.sleep,
    clock: Clock = time.monotonic,
) -> dict[str, Any]:
    """Run the task and wait for it (module docstring); the summary on success."""
    started = clock()
    deadline = started + remaining_ms / 1000 - SAFETY_MARGIN_SECONDS
    if deadline - started < POLL_SECONDS:
        raise MigrationError(
            f"{remaining_ms} ms left in this invocation: not enough to run the migrations "
            f"(at least {SAFETY_MARGIN_SECONDS + POLL_SECONDS:.0f} s); raise the timeout"
        )
    location = log_location(ecs, request)
    task_arn = start_task(ecs, request, client_token)
    LOG.info(
        json.dumps(
            {
                "taskArn": task_arn,
                "cluster": request.cluster,
                "taskDefinition": request.task_definition,
                "startedBy": STARTED_BY,
            }
        )
    )
    task = wait_until_stopped(ecs, request.cluster, task_arn, deadline, sleep=sleep, clock=clock)
    if task is None:
        raise stop_at_deadline(ecs, request, task_arn, clock() - started)
    container = next(
        (c for c in task.get("containers", []) if c.get("name") == request.container_name), None
    )
    if container is None or container.get("exitCode") != 0:
        raise MigrationFailed(failure_message(task, request.container_name, location, logs))
    result = {"taskArn": task_arn, "exitCode": 0, "durationSeconds": round(clock() - started, 1)}
    LOG.info(json.dumps(result))
    return result


_CLIENTS: dict[str, Any] = {}
_CLIENT_CONFIG = Config(retries={"mode": "standard"}, connect_timeout=5, read_timeout=30)


def client(service: str) -> Any:
    """A boto3 client in the function's region, created on first use (not at import)."""
    if service not in _CLIENTS:
        _CLIENTS[service] = boto3.client(
            service, region_name=os.environ.get("AWS_REGION") or None, config=_CLIENT_CONFIG
        )
    return _CLIENTS[service]


def handler(
    event: dict[str, Any],
    context: Any,
    *,
    sleep: Sleep = time.sleep,
    clock: Clock = time.monotonic,
) -> dict[str, Any]:
    """Lambda entry point, as the Invocation calls it: {"taskArn", "exitCode": 0,
    "durationSeconds"} when the migrations succeeded; an exception (the deploy fails) when not."""
    lifecycle = event.get("tf") if isinstance(event, dict) else None
    if isinstance(lifecycle, dict) and lifecycle.get("action") == "delete":
        # lifecycleScope CRUD invokes the function when the Invocation is deleted (the stack
        # destroyed, or the invocation replaced): nothing to migrate then.
        LOG.info(json.dumps({"skipped": "the Invocation is being deleted"}))
        return {"skipped": "delete"}
    request = parse_event(event, os.environ.get("AWS_REGION") or None)
    return run_migrations(
        request,
        client("ecs"),
        client("logs"),
        remaining_ms=int(context.get_remaining_time_in_millis()),
        client_token=getattr(context, "aws_request_id", None),
        sleep=sleep,
        clock=clock,
    )
