"""functions/db_migration_runner: the event checked before any call, each missing or wrong
key named."""

from __future__ import annotations

from typing import Any

import pytest

from functions.db_migration_runner.migration_errors import InvalidEventError
from tests.functions.db_migration_runner.runner_rig import (
    ACCOUNT,
    CLUSTER,
    EVENT,
    REGION,
    SUBNETS,
    TASK_DEFINITION,
    Rig,
)

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
