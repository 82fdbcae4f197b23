"""functions/db_rotation with alternating users: what setSecret and testSecret refuse (a
pending user that is not the pair's other one, a partner with other roles or attributes, a
master's secret that is wrong) and the fallbacks to the master's other passwords."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from payments_local_servers.secrets_rotation import STEPS, SecretsManagerRotation

from functions.db_rotation import handler as rotation
from functions.db_rotation import secret_versions
from functions.db_rotation.rotation_error import RotationError
from tests.functions.db_rotation_alternating.alternating_rig import (
    APP_GROUP,
    APP_USER,
    KEYS_GROUP,
    KEYS_USER,
    REGION,
    Rig,
    assert_no_values,
)

# --- setSecret refuses a user that is not the pair's other one -----------------------------------


def tampered(rig: Rig, **changes: Any) -> dict[str, Any]:
    """AWSCURRENT with a new password and these changes, url rebuilt to agree."""
    document = {**rig.current(), "password": f"tampered-{uuid.uuid4().hex}", **changes}
    document["url"] = secret_versions.connection_url(document)
    return document


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"username": APP_USER}, "does not name the other user"),  # the current user itself
        ({"username": f"{KEYS_USER}_clone"}, "does not name the other user"),  # another pair
        ({"username": "postgres"}, "does not name the other user"),
        (
            {"username": f"{APP_USER}_clone", "masterarn": "the keys login's secret"},
            "differs from AWSCURRENT in masterarn",
        ),
        ({"username": f"{APP_USER}_clone", "port": 1}, "differs from AWSCURRENT in port"),
    ],
)
def test_set_and_test_refuse_a_pending_version_that_is_not_the_pairs_other_user(
    rig: Rig, changes: dict[str, Any], message: str
) -> None:
    before = rig.current()
    if "masterarn" in changes:
        changes = {**changes, "masterarn": rig.keys_arn}
    token = rig.rotations.start()
    pending = tampered(rig, **changes)
    rig.put_pending(token, pending)
    rig.rotations.step("createSecret")  # keeps the version it finds
    assert rig.pending(token) == pending
    for step in ("setSecret", "testSecret"):
        with pytest.raises(RotationError, match=message) as caught:
            rig.rotations.step(step)
        assert_no_values(caught.value, before, pending)
    assert rig.current() == before
    assert rig.logs_in(APP_USER, before["password"])
    assert not rig.logs_in(str(pending["username"]), pending["password"])


def test_set_and_test_refuse_a_pending_version_naming_the_master(rig: Rig) -> None:
    # Even with the master's own password, which logs in: the check comes first.
    master = rig.current(rig.master_arn)
    token = rig.rotations.start()
    pending = tampered(rig, username=master["username"], password=master["password"])
    rig.put_pending(token, pending)
    rig.rotations.step("createSecret")
    for step in ("setSecret", "testSecret"):
        with pytest.raises(RotationError, match="does not name the other user"):
            rig.rotations.step(step)
    assert rig.logs_in(rig.master.user, master["password"])


@pytest.mark.parametrize("which", ["current", "partner"])
def test_set_refuses_a_secret_whose_pair_includes_the_master(rig: Rig, which: str) -> None:
    # A login's secret naming the master (or the master's partner, whose pair is the
    # master): the master's secret rotates single-user, on its own.
    master = rig.current(rig.master_arn)
    username = master["username"] if which == "current" else f"{master['username']}_clone"
    rig.put_current(rig.arn, tampered(rig, username=username))
    rig.rotations.start()
    rig.rotations.step("createSecret")
    with pytest.raises(RotationError, match="names the master's user") as caught:
        rig.rotations.step("setSecret")
    assert_no_values(caught.value, master, rig.current())
    assert rig.logs_in(rig.master.user, master["password"])


def test_set_refuses_a_partner_lacking_the_group_then_completes_once_granted(rig: Rig) -> None:
    before = rig.current()
    rig.admin("REVOKE {} FROM {}", APP_GROUP, f"{APP_USER}_clone")
    token = rig.rotations.start()
    rig.rotations.step("createSecret")
    with pytest.raises(RotationError, match=r"same roles .*missing: payments_app; extra: none"):
        rig.rotations.step("setSecret")
    pending = rig.pending(token)
    assert not rig.logs_in(str(pending["username"]), pending["password"])  # never set

    rig.admin("GRANT {} TO {}", APP_GROUP, f"{APP_USER}_clone")
    for step in STEPS[1:]:
        rig.rotations.step(step)
    assert rig.current() == pending
    assert rig.logs_in(APP_USER, before["password"])


def test_set_refuses_a_partner_with_more_roles(rig: Rig) -> None:
    rig.admin("GRANT {} TO {}", KEYS_GROUP, f"{APP_USER}_clone")
    rig.rotations.start()
    rig.rotations.step("createSecret")
    with pytest.raises(RotationError, match="missing: none; extra: payments_keys"):
        rig.rotations.step("setSecret")


def test_set_refuses_a_partner_with_other_attributes(rig: Rig) -> None:
    rig.admin("ALTER ROLE {} CREATEDB", f"{APP_USER}_clone")
    rig.rotations.start()
    rig.rotations.step("createSecret")
    with pytest.raises(RotationError, match="pending user's rolcreatedb differs"):
        rig.rotations.step("setSecret")


def test_set_refuses_a_partner_that_does_not_exist(rig: Rig) -> None:
    rig.admin("DROP ROLE {}", f"{APP_USER}_clone")
    rig.rotations.start()
    rig.rotations.step("createSecret")
    with pytest.raises(RotationError, match="pending user does not exist"):
        rig.rotations.step("setSecret")
    assert rig.logs_in(APP_USER, rig.current()["password"])


@pytest.mark.parametrize(
    ("change", "group", "message"),
    [
        # Without its group the clone lacks CONNECT (the migrations revoke it from PUBLIC).
        ("REVOKE {} FROM {}", APP_GROUP, "may not connect to the database"),
        ("GRANT {} TO {}", KEYS_GROUP, "missing: none; extra: payments_keys"),
    ],
)
def test_test_step_checks_the_group_membership_itself(
    rig: Rig, change: str, group: str, message: str
) -> None:
    # setSecret checked and set the password; the membership changed before testSecret.
    before = rig.current()
    rig.rotations.start()
    rig.rotations.step("createSecret")
    rig.rotations.step("setSecret")
    rig.admin(change, group, f"{APP_USER}_clone")
    with pytest.raises(RotationError, match=message):
        rig.rotations.step("testSecret")
    assert rig.current() == before


# --- The master's secret -------------------------------------------------------------------------


def test_set_refuses_a_master_secret_without_password(rig: Rig) -> None:
    master = rig.current(rig.master_arn)
    rig.put_current(rig.master_arn, {k: v for k, v in master.items() if k != "password"})
    rig.rotations.start()
    rig.rotations.step("createSecret")
    with pytest.raises(RotationError, match=r"master's secret .* lacks password") as caught:
        rig.rotations.step("setSecret")
    assert_no_values(caught.value, master, rig.current())


@pytest.mark.parametrize("by", ["ARN", "Name"])
def test_set_refuses_a_masterarn_naming_the_secret_itself(rig: Rig, by: str) -> None:
    itself = rig.client.describe_secret(SecretId=rig.arn)[by]
    rig.put_current(rig.arn, {**rig.current(), "masterarn": itself})
    rig.rotations.start()
    rig.rotations.step("createSecret")
    with pytest.raises(RotationError, match="names the secret itself") as caught:
        rig.rotations.step("setSecret")
    assert_no_values(caught.value, rig.current())


def test_set_refuses_a_master_secret_that_alternates_itself(rig: Rig) -> None:
    rig.put_current(rig.arn, {**rig.current(), "masterarn": rig.keys_arn})
    rig.rotations.start()
    rig.rotations.step("createSecret")
    with pytest.raises(RotationError, match="has masterarn itself"):
        rig.rotations.step("setSecret")


def test_set_refuses_a_master_secret_for_another_server(rig: Rig) -> None:
    master = rig.current(rig.master_arn)
    rig.put_current(rig.master_arn, {**master, "host": "elsewhere.example"})
    rig.rotations.start()
    rig.rotations.step("createSecret")
    with pytest.raises(RotationError, match="another host or port"):
        rig.rotations.step("setSecret")


def test_set_falls_back_to_the_masters_previous_password(rig: Rig) -> None:
    # The master's secret rotated, then the database went back to the master's password
    # before it (a restore from a snapshot): the master's AWSPREVIOUS logs in.
    first = rig.current(rig.master_arn)
    SecretsManagerRotation(rig.master_arn, rotation.handler, region=REGION).rotate()
    rig.postgres.set_password(rig.master.user, first["password"])
    rig.rotations.rotate()
    current = rig.current()
    assert current["username"] == f"{APP_USER}_clone"
    assert rig.logs_in(f"{APP_USER}_clone", current["password"])


def test_a_login_rotates_while_the_masters_own_rotation_is_half_way(rig: Rig) -> None:
    # The three schedules start together: the master's setSecret has changed its password,
    # its finishSecret has not moved AWSCURRENT yet. The master's AWSPENDING logs in.
    master_rotation = SecretsManagerRotation(rig.master_arn, rotation.handler, region=REGION)
    master_rotation.start()
    master_rotation.step("createSecret")
    master_rotation.step("setSecret")
    assert not rig.logs_in(rig.master.user, rig.current(rig.master_arn)["password"])
    rig.rotations.rotate()
    current = rig.current()
    assert current["username"] == f"{APP_USER}_clone"
    assert rig.logs_in(f"{APP_USER}_clone", current["password"])
    master_rotation.step("testSecret")
    master_rotation.step("finishSecret")
    assert rig.logs_in(rig.master.user, rig.current(rig.master_arn)["password"])


def test_set_fails_clearly_when_no_master_password_logs_in(rig: Rig) -> None:
    rig.postgres.set_password(rig.master.user, "changed-outside-the-rotation")
    before = rig.current()
    rig.rotations.start()
    rig.rotations.step("createSecret")
    with pytest.raises(RotationError, match=r"passwords of the master.s secret .* logs in"):
        rig.rotations.step("setSecret")
    assert rig.current() == before
    assert rig.logs_in(APP_USER, before["password"])
