"""The database secrets' rotation setting (payments:dbRotationDays), read from the recorded
graph: on by default every 30 days for every secret with the stack's own function, what it
changes in the database's resources, and off allowed with a warning. The rotation function
itself: test_db_rotation.py.
"""

from __future__ import annotations

import pytest

from payments_infra.components.database.db_rotation import ROTATION_OFF_WARNING
from payments_infra.config.errors import ConfigError
from payments_infra.offline import checks
from payments_infra.offline.graph import Graph
from payments_infra.offline.mocks import record_program
from tests.config_loading import load
from tests.database_queries import CLUSTER, ROLES, only, secret, secret_value
from tests.stacks import SUFFIX, VALID_CONFIG

ROTATION = "aws:secretsmanager/secretRotation:SecretRotation"


@pytest.fixture(scope="module")
def graph_without_rotation() -> Graph:
    return record_program({**VALID_CONFIG, "payments:dbRotationDays": "0"}, stack="test")


def test_rotation_is_on_by_default_every_30_days_for_every_secret(graph: Graph) -> None:
    rotations = graph.of_type(ROTATION)
    assert sorted(r.inputs["secretId"] for r in rotations) == sorted(
        secret(graph, role).id for role in ROLES
    )
    assert load().database.rotation_days == 30
    # The stack's own function (db_rotation.py), not one from the Serverless Application
    # Repository, whose function leaves `url` stale.
    (function,) = [
        f for f in graph.of_type("aws:lambda/function:Function") if f.name == "db-rotation-function"
    ]
    assert function.inputs["name"] == f"db-password-rotation-{SUFFIX}"
    for rotation in rotations:
        assert rotation.inputs["rotationRules"] == {"automaticallyAfterDays": 30}
        assert rotation.inputs["rotationLambdaArn"] == function.outputs["arn"]
    assert not [r for r in graph if r.type.startswith("aws:serverlessrepository")]
    assert graph.warnings == []


def test_with_rotation_a_later_up_does_not_restore_the_first_passwords(graph: Graph) -> None:
    for role in ROLES:
        assert "secretString" in secret_value(graph, role).ignore_changes, role
    assert "masterPassword" in only(graph, CLUSTER).ignore_changes


def test_rotation_off_is_allowed_and_warned_about(graph_without_rotation: Graph) -> None:
    assert graph_without_rotation.of_type(ROTATION) == []
    assert not [r for r in graph_without_rotation if r.name.startswith("db-rotation")]
    assert not graph_without_rotation.of_type("payments:database:DbRotation")
    for role in ROLES:
        assert "secretString" not in secret_value(graph_without_rotation, role).ignore_changes
    assert "masterPassword" not in only(graph_without_rotation, CLUSTER).ignore_changes
    assert graph_without_rotation.warnings == [ROTATION_OFF_WARNING]
    assert "payments:dbRotationDays is 0" in ROTATION_OFF_WARNING
    assert "8.3.9" in ROTATION_OFF_WARNING


def test_the_graph_without_rotation_passes_every_graph_wide_check(
    graph_without_rotation: Graph,
) -> None:
    results = checks.run_checks(
        graph_without_rotation, SUFFIX, ["us-east-1a", "us-east-1b", "us-east-1c"]
    )
    assert {r.name: r.problems for r in results if not r.passed} == {}


@pytest.mark.parametrize("days", ["-1", "366", "weekly", "1.5"])
def test_bad_rotation_days_fail_clearly(days: str) -> None:
    with pytest.raises(
        ConfigError, match=f'payments:dbRotationDays must be 0 \\(off\\) or .*got "{days}"'
    ):
        load(**{"payments:dbRotationDays": days})
