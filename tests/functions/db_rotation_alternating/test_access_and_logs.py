"""functions/db_rotation with alternating users: what the function asks of Secrets Manager
(its IAM policy), and that no password, url or user name reaches its log or the server's."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from typing import Any

import boto3
import pytest
from payments_local_servers.secrets_rotation import SecretsManagerRotation

from functions.db_rotation import handler as rotation
from tests.functions.db_rotation_alternating.alternating_rig import (
    APP_USER,
    REGION,
    Rig,
)

# --- What the function asks of Secrets Manager (its IAM policy) ----------------------------------


@dataclass
class Calls:
    """Every Secrets Manager request the function's client makes: (operation, parameters)."""

    made: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    def record(self, params: dict[str, Any], model: Any, **_: Any) -> None:
        self.made.append((str(model.name), dict(params)))

    def on(self, arn: str) -> list[tuple[str, dict[str, Any]]]:
        return [(name, params) for name, params in self.made if params.get("SecretId") == arn]


@pytest.fixture
def calls(rig: Rig, monkeypatch: pytest.MonkeyPatch) -> Calls:
    calls = Calls()
    client = boto3.client("secretsmanager", region_name=REGION)
    client.meta.events.register("before-parameter-build.secrets-manager", calls.record)
    monkeypatch.setitem(rotation._CLIENTS, "secretsmanager", client)
    return calls


def test_on_the_masters_secret_the_function_only_reads_its_current_version(
    rig: Rig, calls: Calls
) -> None:
    rig.rotations.rotate()
    assert calls.on(rig.master_arn) == [
        ("GetSecretValue", {"SecretId": rig.master_arn, "VersionStage": "AWSCURRENT"})
    ]
    operations = {name for name, params in calls.made if params.get("SecretId") == rig.arn}
    assert operations == {
        "DescribeSecret",
        "GetSecretValue",
        "PutSecretValue",
        "UpdateSecretVersionStage",
    }
    assert {name for name, params in calls.made if "SecretId" not in params} == {
        "GetRandomPassword"
    }


def test_and_its_previous_version_when_the_current_one_does_not_log_in(
    rig: Rig, calls: Calls
) -> None:
    first = rig.current(rig.master_arn)
    SecretsManagerRotation(rig.master_arn, rotation.handler, region=REGION).rotate()
    rig.postgres.set_password(rig.master.user, first["password"])
    calls.made.clear()
    rig.rotations.rotate()
    assert calls.on(rig.master_arn) == [
        ("GetSecretValue", {"SecretId": rig.master_arn, "VersionStage": "AWSCURRENT"}),
        ("GetSecretValue", {"SecretId": rig.master_arn, "VersionStage": "AWSPENDING"}),
        ("GetSecretValue", {"SecretId": rig.master_arn, "VersionStage": "AWSPREVIOUS"}),
    ]


# --- Never a value in a log ----------------------------------------------------------------------


def test_only_the_clone_is_altered_and_no_value_reaches_a_log(
    rig: Rig, caplog: pytest.LogCaptureFixture
) -> None:
    before, master = rig.current(), rig.current(rig.master_arn)
    server_log_start = rig.postgres.log_path.stat().st_size
    with caplog.at_level(logging.DEBUG):  # botocore's wire logs included, were they on
        rig.rotations.rotate()
    after = rig.current()
    assert "finishSecret: done" in caplog.text
    server_log = rig.postgres.log_path.read_text()[server_log_start:]
    altered = re.findall(r"ALTER ROLE (\S+) PASSWORD '(SCRAM-SHA-256\$[^']+)'", server_log)
    assert [role for role, _ in altered] == [f'"{APP_USER}_clone"']
    for value in (
        before["password"],
        after["password"],
        master["password"],
        before["url"],
        after["url"],
        master["url"],
    ):
        assert value not in caplog.text
        assert value not in server_log
