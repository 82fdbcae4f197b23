"""What MigrationFailed says: how the task stopped, how its container exited, where its logs
are, and their last lines (read here; logs that cannot be read never hide the failure)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

# A sibling module: relative here, top-level in Lambda (functions/__init__.py).
if TYPE_CHECKING or __package__:
    from . import migration_task
else:
    import migration_task

# --- The error message ---------------------------------------------------------------------------
LOG_TAIL_LINES = 20
MAX_LOG_LINE_CHARS = 500


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


def task_id(task_arn: str) -> str:
    """The id at the end of a task ARN (``.../task/<cluster>/<id>``)."""
    return task_arn.rsplit("/", 1)[-1]


def failure_message(
    task: dict[str, Any],
    container_name: str,
    location: migration_task.LogLocation,
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
