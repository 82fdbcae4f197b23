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

The steps are in sibling modules: migration_event (1's event, checked), migration_task
(1 to 3, and StopTask), migration_failure (4's message) and migration_errors; this module
runs them, and holds the entry point and the AWS clients.
"""

from __future__ import annotations

import json
import logging
import os
import time
from typing import TYPE_CHECKING, Any

import boto3
from botocore.config import Config

# Sibling modules: relative here, top-level in Lambda (functions/__init__.py).
if TYPE_CHECKING or __package__:
    from . import migration_errors, migration_event, migration_failure, migration_task
else:
    import migration_errors
    import migration_event
    import migration_failure
    import migration_task

LOG = logging.getLogger(__name__)
LOG.setLevel(logging.INFO)
# At DEBUG, botocore logs request and response bodies (a task definition's environment too).
for _library in ("boto3", "botocore", "urllib3"):
    logging.getLogger(_library).setLevel(logging.WARNING)

# Kept back from the invocation's remaining time: StopTask, the logs and the error need it.
SAFETY_MARGIN_SECONDS = 30.0


# --- The handler ---------------------------------------------------------------------------------


def run_migrations(
    request: migration_event.Request,
    ecs: Any,
    logs: Any,
    *,
    remaining_ms: int,
    client_token: str | None,
    sleep: migration_task.Sleep = time.sleep,
    clock: migration_task.Clock = time.monotonic,
) -> dict[str, Any]:
    """Run the task and wait for it (module docstring); the summary on success."""
    started = clock()
    deadline = started + remaining_ms / 1000 - SAFETY_MARGIN_SECONDS
    if deadline - started < migration_task.POLL_SECONDS:
        raise migration_errors.MigrationError(
            f"{remaining_ms} ms left in this invocation: not enough to run the migrations "
            f"(at least {SAFETY_MARGIN_SECONDS + migration_task.POLL_SECONDS:.0f} s); "
            "raise the timeout"
        )
    location = migration_task.log_location(ecs, request)
    task_arn = migration_task.start_task(ecs, request, client_token)
    LOG.info(
        json.dumps(
            {
                "taskArn": task_arn,
                "cluster": request.cluster,
                "taskDefinition": request.task_definition,
                "startedBy": migration_task.STARTED_BY,
            }
        )
    )
    task = migration_task.wait_until_stopped(
        ecs, request.cluster, task_arn, deadline, sleep=sleep, clock=clock
    )
    if task is None:
        raise migration_task.stop_at_deadline(ecs, request, task_arn, clock() - started)
    container = next(
        (c for c in task.get("containers", []) if c.get("name") == request.container_name), None
    )
    if container is None or container.get("exitCode") != 0:
        raise migration_errors.MigrationFailed(
            migration_failure.failure_message(task, request.container_name, location, logs)
        )
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
    sleep: migration_task.Sleep = time.sleep,
    clock: migration_task.Clock = time.monotonic,
) -> dict[str, Any]:
    """Lambda entry point, as the Invocation calls it: {"taskArn", "exitCode": 0,
    "durationSeconds"} when the migrations succeeded; an exception (the deploy fails) when not."""
    lifecycle = event.get("tf") if isinstance(event, dict) else None
    if isinstance(lifecycle, dict) and lifecycle.get("action") == "delete":
        # lifecycleScope CRUD invokes the function when the Invocation is deleted (the stack
        # destroyed, or the invocation replaced): nothing to migrate then.
        LOG.info(json.dumps({"skipped": "the Invocation is being deleted"}))
        return {"skipped": "delete"}
    request = migration_event.parse_event(event, os.environ.get("AWS_REGION") or None)
    return run_migrations(
        request,
        client("ecs"),
        client("logs"),
        remaining_ms=int(context.get_remaining_time_in_millis()),
        client_token=getattr(context, "aws_request_id", None),
        sleep=sleep,
        clock=clock,
    )
