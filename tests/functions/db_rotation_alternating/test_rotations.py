"""functions/db_rotation with alternating users: whole rotations to the clone and back, the
master's own single-user rotation, and each step run again with no second effect."""

from __future__ import annotations

import logging

import psycopg
import pytest
from payments_local_servers.secrets_rotation import STEPS, SecretsManagerRotation

from functions.db_rotation import handler as rotation
from functions.db_rotation import secret_versions
from functions.db_rotation.rotation_error import RotationError
from tests.functions.db_rotation_alternating.alternating_rig import (
    APP_USER,
    KEYS_USER,
    REGION,
    Rig,
    can_use_payments,
    url_credentials,
)

# --- Whole rotations -----------------------------------------------------------------------------


@pytest.mark.parametrize(("kind", "user"), [("app", APP_USER), ("keys", KEYS_USER)])
def test_rotations_alternate_between_the_user_and_its_clone(rig: Rig, kind: str, user: str) -> None:
    arn = rig.arn if kind == "app" else rig.keys_arn
    rotations = SecretsManagerRotation(arn, rotation.handler, region=REGION)
    other_arn = rig.keys_arn if kind == "app" else rig.arn
    other, master = rig.current(other_arn), rig.current(rig.master_arn)
    master_stages = rig.stages(rig.master_arn)
    first, first_version = rig.current(arn), rig.stages(arn)

    token = rotations.rotate()

    second = rig.current(arn)
    assert second["username"] == f"{user}_clone"
    assert second["password"] != first["password"]
    secret_versions.check_consistent(second)
    assert url_credentials(second["url"]) == {
        "user": f"{user}_clone",
        "password": second["password"],
        "host": rig.master.host,
        "port": str(rig.master.port),
        "dbname": rig.master.dbname,
        "sslmode": "verify-full",
    }
    rotated = ("username", "password", "url")
    assert {k: v for k, v in second.items() if k not in rotated} == {
        k: v for k, v in first.items() if k not in rotated
    }
    assert second["masterarn"] == rig.master_arn
    assert rig.logs_in(f"{user}_clone", second["password"])
    assert rig.logs_in(user, first["password"])  # the old user was not touched
    (first_token,) = first_version
    assert rig.stages(arn) == {first_token: ["AWSPREVIOUS"], token: ["AWSCURRENT", "AWSPENDING"]}

    token = rotations.rotate()

    third = rig.current(arn)
    assert third["username"] == user
    assert third["password"] not in (first["password"], second["password"])
    assert url_credentials(third["url"])["user"] == user
    assert url_credentials(third["url"])["password"] == third["password"]
    assert rig.logs_in(user, third["password"])
    assert not rig.logs_in(user, first["password"])
    assert rig.logs_in(f"{user}_clone", second["password"])  # AWSPREVIOUS still logs in
    assert rig.stages(arn)[token] == ["AWSCURRENT", "AWSPENDING"]

    # The master and the other login: untouched.
    assert rig.current(rig.master_arn) == master and rig.stages(rig.master_arn) == master_stages
    assert rig.logs_in(rig.master.user, master["password"])
    assert rig.current(other_arn) == other
    assert rig.logs_in(str(other["username"]), other["password"])


def test_each_user_of_the_pair_keeps_its_group_grants(rig: Rig) -> None:
    assert can_use_payments(rig, rig.current())
    rig.rotations.rotate()
    assert rig.current()["username"] == f"{APP_USER}_clone"
    assert can_use_payments(rig, rig.current())
    keys = rig.current(rig.keys_arn)
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        can_use_payments(rig, keys)  # the key CLI's group has no grant on payments


def test_the_master_secret_keeps_rotating_single_user(rig: Rig) -> None:
    before = rig.current(rig.master_arn)
    SecretsManagerRotation(rig.master_arn, rotation.handler, region=REGION).rotate()
    after = rig.current(rig.master_arn)
    assert after["username"] == before["username"] == rig.master.user
    assert rig.logs_in(rig.master.user, after["password"])
    assert not rig.logs_in(rig.master.user, before["password"])
    # The logins' rotation logs in with the master's new password.
    rig.rotations.rotate()
    assert rig.logs_in(f"{APP_USER}_clone", rig.current()["password"])


# --- Each step may run again --------------------------------------------------------------------


def test_each_step_run_twice_changes_nothing_the_second_time(rig: Rig) -> None:
    before = rig.current()
    token = rig.rotations.start()

    rig.rotations.step("createSecret")
    created = rig.pending(token)
    rig.rotations.step("createSecret")
    assert rig.pending(token) == created
    assert created["username"] == f"{APP_USER}_clone"

    rig.rotations.step("setSecret")
    rig.rotations.step("setSecret")  # the clone already logs in with it: nothing to do
    assert rig.logs_in(created["username"], created["password"])
    assert rig.logs_in(APP_USER, before["password"])
    assert rig.current() == before  # not finished yet

    rig.rotations.step("testSecret")
    rig.rotations.step("testSecret")

    rig.rotations.step("finishSecret")
    labels = rig.stages()
    rig.rotations.step("finishSecret")
    assert rig.stages() == labels
    assert labels[token] == ["AWSCURRENT", "AWSPENDING"]
    assert rig.current() == created


def test_a_second_set_step_does_not_set_the_password_again(
    rig: Rig, caplog: pytest.LogCaptureFixture
) -> None:
    rig.rotations.start()
    rig.rotations.step("createSecret")
    rig.rotations.step("setSecret")
    log_start = rig.postgres.log_path.stat().st_size
    with caplog.at_level(logging.INFO):
        rig.rotations.step("setSecret")
    assert "already logs in" in caplog.text
    assert "ALTER ROLE" not in rig.postgres.log_path.read_text()[log_start:]


def test_a_whole_rotation_replayed_with_the_same_token_is_a_no_op(rig: Rig) -> None:
    first = rig.current()
    token = rig.rotations.rotate()
    after, labels = rig.current(), rig.stages()
    for step in STEPS:
        rig.rotations.step(step, token)
    assert rig.current() == after
    assert rig.stages() == labels
    assert rig.logs_in(str(after["username"]), after["password"])
    assert rig.logs_in(APP_USER, first["password"])


def test_a_failed_test_step_is_retried_with_the_same_token(rig: Rig) -> None:
    before = rig.current()
    rig.rotations.start()
    rig.rotations.step("createSecret")
    with pytest.raises(RotationError, match="does not log in"):
        rig.rotations.step("testSecret")  # setSecret never ran: the clone has no password
    assert rig.current() == before
    for step in STEPS:
        rig.rotations.step(step)
    assert rig.current()["username"] == f"{APP_USER}_clone"
    assert rig.logs_in(APP_USER, before["password"])
