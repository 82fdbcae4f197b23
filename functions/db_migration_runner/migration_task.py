"""The migrations task in ECS: where its container logs (from the task definition), RunTask,
DescribeTasks until it stops or the deadline comes, and StopTask at the deadline."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

# Sibling modules: relative here, top-level in Lambda (functions/__init__.py).
if TYPE_CHECKING or __package__:
    from . import migration_errors, migration_event
else:
    import migration_errors
    import migration_event

LOG = logging.getLogger(__name__)
LOG.setLevel(logging.INFO)  # as the handler's: the task's states are logged at INFO

# --- The task ------------------------------------------------------------------------------------
PLATFORM_VERSION = "1.4.0"  # as payments_infra/components/api/service.py pins the service's
STARTED_BY = "pulumi-migrations"  # RunTask: at most 36 letters, digits, hyphens, underscores
STOP_REASON = "migration runner deadline"
STOPPED = "STOPPED"

# --- Waiting -------------------------------------------------------------------------------------
POLL_SECONDS = 5.0

Sleep = Callable[[float], None]
Clock = Callable[[], float]


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


def log_location(ecs: Any, request: migration_event.Request) -> LogLocation:
    """The awslogs group and stream prefix of the container; InvalidEventError if the task
    definition has no container of that name (checked before the task runs, not after)."""
    definition = ecs.describe_task_definition(taskDefinition=request.task_definition)
    containers = definition["taskDefinition"].get("containerDefinitions", [])
    container = next((c for c in containers if c.get("name") == request.container_name), None)
    if container is None:
        names = ", ".join(sorted(str(c.get("name")) for c in containers)) or "none"
        raise migration_errors.InvalidEventError(
            f"event key 'containerName': {request.task_definition} has no container named "
            f"{request.container_name!r} (it has: {names})"
        )
    logging_config = container.get("logConfiguration") or {}
    if logging_config.get("logDriver") != "awslogs":
        return LogLocation(None, None)
    options = logging_config.get("options") or {}
    return LogLocation(options.get("awslogs-group"), options.get("awslogs-stream-prefix"))


def start_task(ecs: Any, request: migration_event.Request, client_token: str | None) -> str:
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
        raise migration_errors.TaskNotStartedError(
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
    raise migration_errors.MigrationError(
        f"DescribeTasks could not describe {task_arn}: {described}"
    )


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


def stop_at_deadline(
    ecs: Any, request: migration_event.Request, task_arn: str, waited: float
) -> migration_errors.MigrationTimeoutError:
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
    return migration_errors.MigrationTimeoutError(
        f"database migrations did not finish in time: task {task_arn} had not stopped "
        f"{waited:.0f} s after it was started; {outcome} (reason {STOP_REASON!r}). A stopped "
        "migration rolls back its one transaction, so the database keeps its previous "
        "version. Raise the function's timeout, or see in the task's logs why the migrations "
        "are slow."
    )
