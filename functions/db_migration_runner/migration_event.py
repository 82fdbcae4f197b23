"""The invocation's event, checked: ``parse_event`` makes a Request of it, or raises
InvalidEventError naming the first key that is missing or wrong, before any call to AWS."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

# A sibling module: relative here, top-level in Lambda (functions/__init__.py).
if TYPE_CHECKING or __package__:
    from . import migration_errors
else:
    import migration_errors

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


@dataclass(frozen=True)
class Request:
    """The event, checked."""

    cluster: str
    task_definition: str
    container_name: str
    subnets: tuple[str, ...]
    security_groups: tuple[str, ...]


def _shown(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 120 else text[:117] + "..."


def _string(event: dict[str, Any], key: str, pattern: re.Pattern[str], what: str) -> str:
    if key not in event:
        raise migration_errors.InvalidEventError(f"the event lacks {key!r} ({what})")
    value = event[key]
    if not isinstance(value, str) or not pattern.fullmatch(value):
        raise migration_errors.InvalidEventError(
            f"event key {key!r} must be {what}, not {_shown(value)}"
        )
    return value


def _ids(
    event: dict[str, Any], key: str, pattern: re.Pattern[str], what: str, most: int
) -> tuple[str, ...]:
    if key not in event:
        raise migration_errors.InvalidEventError(f"the event lacks {key!r} (a list of {what})")
    value = event[key]
    if not isinstance(value, list) or not 1 <= len(value) <= most:
        raise migration_errors.InvalidEventError(
            f"event key {key!r} must be a list of 1 to {most} {what}, not {_shown(value)}"
        )
    wrong = [item for item in value if not isinstance(item, str) or not pattern.fullmatch(item)]
    if wrong:
        raise migration_errors.InvalidEventError(
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
        raise migration_errors.InvalidEventError(
            f"the event must be a JSON object, not {type(event).__name__}"
        )
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
        raise migration_errors.InvalidEventError(
            "event keys 'cluster' and 'taskDefinition' name different accounts"
        )
    for key, arn in (("cluster", cluster_arn), ("taskDefinition", definition_arn)):
        if region and arn["region"] != region:
            raise migration_errors.InvalidEventError(
                f"event key {key!r} is in {arn['region']}; this function runs in {region}"
            )
    return Request(cluster, task_definition, container_name, subnets, groups)
