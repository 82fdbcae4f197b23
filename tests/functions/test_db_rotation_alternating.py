"""functions/db_rotation with alternating users: the secrets of the least-privilege logins name
the master's secret in ``masterarn``; each rotation gives the other user of the pair
(``x`` / ``x_clone``) a new password, logged in as the master, and never touches the user in
use. Against moto's Secrets Manager and a real PostgreSQL server over TLS (verify-full), as
the function runs them, on a database migrated by the API's own migrations (app/api), whose
roles are the contract: payments_app and payments_keys holding the grants, and two LOGIN users
in each (payments_api and payments_api_clone, payments_keys_cli and its clone)."""

from __future__ import annotations

import json
import logging
import re
import sys
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import psycopg
import pytest
from payments_local_servers.postgres import DatabaseCredentials, PostgresServer
from payments_local_servers.secrets_rotation import STEPS, SecretsManagerRotation
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from functions.db_rotation import handler as rotation
from functions.db_rotation.handler import RotationError
from payments_infra.components.aurora import secret_document

# The API's migrations make the roles (app/api/payments_api/migrations): after the repository
# root on the path, so that `tests` stays this repository's package.
API_DIR = Path(__file__).resolve().parents[2] / "app" / "api"
if str(API_DIR) not in sys.path:
    sys.path.append(str(API_DIR))
from payments_api.migrate import Login, ensure_login  # noqa: E402
from payments_api.migrations import upgrade  # noqa: E402
from payments_api.roles import (  # noqa: E402
    APP_GROUP,
    APP_LOGIN_USERS,
    GROUPS,
    KEYS_GROUP,
    KEYS_LOGIN_USERS,
)

REGION = "us-east-1"
# The users the secrets name first (the stack's aurora.APP_LOGIN and KEYS_LOGIN).
APP_USER, KEYS_USER = APP_LOGIN_USERS[0], KEYS_LOGIN_USERS[0]
# Bounds on waiting for the prober thread: they only end a test that already failed.
THREAD_WAIT_SECONDS = 60


@pytest.fixture(scope="module")
def postgres() -> Iterator[PostgresServer]:
    """One server for the module, logging every statement (the test of what reaches the
    server's log reads it)."""
    with PostgresServer() as server:
        with server.connect() as admin:
            admin.execute("ALTER SYSTEM SET log_statement = 'all'")
            admin.execute("SELECT pg_reload_conf()")
        yield server


def create_roles(master: DatabaseCredentials) -> None:
    """The least-privilege roles, by the API's own migrations run as the master (the
    database's owner, CREATEROLE, not a superuser, as on Aurora): the group roles
    payments_app and payments_keys with their grants, and two LOGIN users in each, created
    with no password (payments_api.roles)."""
    upgrade(master.conninfo())


def drop_roles(postgres: PostgresServer, dbname: str, master_user: str) -> None:
    """Undo create_roles (roles belong to the whole server, and each test makes its own):
    the database, then the roles."""
    with postgres.connect() as admin:
        admin.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(dbname))
        )
        logins = [user for users in GROUPS.values() for user in users]
        for role in [*logins, *GROUPS, master_user]:
            admin.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(role)))


@dataclass(frozen=True)
class Rig:
    """The master's secret and one secret per login in moto's Secrets Manager, for a database
    of the real server with create_roles' roles, and rotations of the app login's secret."""

    client: Any
    arn: str
    master_arn: str
    keys_arn: str
    rotations: SecretsManagerRotation
    master: DatabaseCredentials
    postgres: PostgresServer

    def current(self, arn: str | None = None) -> dict[str, Any]:
        value = self.client.get_secret_value(SecretId=arn or self.arn, VersionStage="AWSCURRENT")
        return dict(json.loads(value["SecretString"]))

    def pending(self, token: str) -> dict[str, Any]:
        value = self.client.get_secret_value(SecretId=self.arn, VersionId=token)
        return dict(json.loads(value["SecretString"]))

    def put_pending(self, token: str, document: dict[str, Any]) -> None:
        """Write the value of version ``token`` before createSecret does (which keeps it)."""
        self.client.put_secret_value(
            SecretId=self.arn,
            ClientRequestToken=token,
            SecretString=json.dumps(document),
            VersionStages=["AWSPENDING"],
        )

    def put_current(self, arn: str, document: dict[str, Any]) -> None:
        self.client.put_secret_value(SecretId=arn, SecretString=json.dumps(document))

    def stages(self, arn: str | None = None) -> dict[str, list[str]]:
        versions = self.client.describe_secret(SecretId=arn or self.arn)["VersionIdsToStages"]
        return {version: sorted(labels) for version, labels in versions.items()}

    def connect(self, document: dict[str, Any]) -> psycopg.Connection[Any]:
        """A connection as the document's url says (what a task does with the secret)."""
        return psycopg.connect(
            str(document["url"]), sslrootcert=str(self.master.sslrootcert), autocommit=True
        )

    def logs_in(self, username: str, password: str) -> bool:
        try:
            with psycopg.connect(conninfo(self.master, username, password)) as conn:
                conn.execute("SELECT 1")
        except psycopg.OperationalError as error:
            assert "password authentication failed" in str(error), error
            return False
        return True

    def admin(self, statement: str, *identifiers: str) -> None:
        """A statement as the server's superuser in the rig's database."""
        with self.postgres.connect(self.master.dbname) as conn:
            conn.execute(sql.SQL(statement).format(*(sql.Identifier(i) for i in identifiers)))


def conninfo(database: DatabaseCredentials, username: str, password: str) -> str:
    """libpq's settings for this user of the database, TLS verify-full."""
    return make_conninfo(
        host=database.host,
        port=database.port,
        dbname=database.dbname,
        user=username,
        password=password,
        sslmode="verify-full",
        sslrootcert=str(database.sslrootcert),
    )


def document_for(
    database: DatabaseCredentials, username: str, password: str, master_arn: str | None = None
) -> dict[str, Any]:
    """A secret's JSON as the stack writes it (aurora.secret_document), for this database."""
    document: dict[str, Any] = json.loads(
        secret_document(
            database.host,
            password,
            "aurora-x",
            username=username,
            master_secret_arn=master_arn,
        )
    )
    document.update(port=database.port, dbname=database.dbname)
    document["url"] = rotation.connection_url(document)
    return document


def set_login_password(master: DatabaseCredentials, group: str, user: str, password: str) -> None:
    """The migration step for a login's secret (payments_api.migrate): set the password of
    the user the secret names when it cannot log in with it, as the master."""
    params = {
        "host": master.host,
        "port": str(master.port),
        "dbname": master.dbname,
        "user": master.user,
        "password": master.password,
        "sslmode": "verify-full",
        "sslrootcert": str(master.sslrootcert),
    }
    ensure_login(params, Login(f"{group}_USER", group, user, password))


@pytest.fixture
def rig(aws: None, monkeypatch: pytest.MonkeyPatch, postgres: PostgresServer) -> Iterator[Rig]:
    """A database whose owner is the master (CREATEROLE, no superuser), the roles of the
    migrations, the three secrets (master's, app's and keys', the logins' passwords set as
    the migration step does), and the function verifying the server against the test CA."""
    name = f"alternating_{uuid.uuid4().hex[:12]}"
    master = postgres.create_database(name)
    with postgres.connect() as admin:
        admin.execute(sql.SQL("ALTER ROLE {} CREATEROLE").format(sql.Identifier(master.user)))
    monkeypatch.setattr(rotation, "_CLIENTS", {})
    monkeypatch.setenv("DB_SSLROOTCERT", str(master.sslrootcert))
    client = boto3.client("secretsmanager", region_name=REGION)

    def create_secret(kind: str, document: dict[str, Any]) -> str:
        return str(
            client.create_secret(
                Name=f"db-{kind}-credentials-{uuid.uuid4().hex[:8]}",
                SecretString=json.dumps(document),
            )["ARN"]
        )

    master_arn = create_secret("master", document_for(master, master.user, master.password))
    arns = {}
    try:
        create_roles(master)
        for kind, group, user in (("app", APP_GROUP, APP_USER), ("keys", KEYS_GROUP, KEYS_USER)):
            document = document_for(master, user, f"first-{uuid.uuid4().hex}", master_arn)
            arns[kind] = create_secret(kind, document)
            set_login_password(master, group, user, document["password"])
        rotations = SecretsManagerRotation(arns["app"], rotation.handler, region=REGION)
        yield Rig(client, arns["app"], master_arn, arns["keys"], rotations, master, postgres)
    finally:
        drop_roles(postgres, name, master.user)


def url_credentials(url: str) -> dict[str, str]:
    """What libpq reads from the url (percent-decoding included)."""
    return {k: str(v) for k, v in conninfo_to_dict(url).items()}


def assert_no_values(error: BaseException, *documents: dict[str, Any]) -> None:
    """An error message names keys and versions, never a password, url or user name."""
    message = str(error)
    for document in documents:
        for key in ("password", "url", "username"):
            if document.get(key):
                assert str(document[key]) not in message, key


def can_use_payments(rig: Rig, document: dict[str, Any]) -> bool:
    """The document's user logs in with its url and reads payments (its group's grant)."""
    with rig.connect(document) as conn:
        row = conn.execute("SELECT count(*) FROM payments").fetchone()
    return row is not None


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
    rotation.check_consistent(second)
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


# --- setSecret refuses a user that is not the pair's other one -----------------------------------


def tampered(rig: Rig, **changes: Any) -> dict[str, Any]:
    """AWSCURRENT with a new password and these changes, url rebuilt to agree."""
    document = {**rig.current(), "password": f"tampered-{uuid.uuid4().hex}", **changes}
    document["url"] = rotation.connection_url(document)
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


# --- Zero failed connections ---------------------------------------------------------------------


def reason(error: psycopg.Error) -> str:
    """A failure in a few words, without the message's user name."""
    if "password authentication failed" in str(error):
        return "password refused"
    return f"{type(error).__name__} {error.sqlstate}"


@dataclass
class Prober:
    """What the API's tasks do during a rotation: new connections with the credentials
    AWSCURRENT has at that moment, new connections with credentials read before the
    rotation began (a task that read the secret when it started), and queries on a
    connection opened before it (a pool's). Records every failure; never raises."""

    rig: Rig
    arn: str | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)
    cached: dict[str, Any] | None = None
    long_lived: psycopg.Connection[Any] | None = None
    rounds: int = 0
    logins: int = 0
    failures: list[str] = field(default_factory=list)

    def begin_rotation(self) -> None:
        """The credentials a task read just before this rotation, and its pool's connection
        (opened once, before the first rotation)."""
        with self.lock:
            self.cached = self.rig.current(self.arn)
        if self.long_lived is None:
            self.long_lived = self.rig.connect(self.cached)

    def probe(self, moment: str) -> None:
        with self.lock:  # moto is not thread-safe; Secrets Manager's calls are atomic
            documents = {"AWSCURRENT": self.rig.current(self.arn), "cached": self.cached}
        for source, document in documents.items():
            if document is None:
                continue
            try:
                with self.rig.connect(document) as conn:
                    conn.execute("SELECT count(*) FROM payments").fetchone()
            except psycopg.Error as error:
                self.failures.append(f"{moment}: login with {source}: {reason(error)}")
            else:
                self.logins += 1
        if self.long_lived is not None:
            try:
                self.long_lived.execute("SELECT count(*) FROM payments").fetchone()
            except psycopg.Error as error:
                self.failures.append(f"{moment}: the long-lived connection: {reason(error)}")
        self.rounds += 1

    def close(self) -> None:
        if self.long_lived is not None:
            self.long_lived.close()


@pytest.fixture
def prober(rig: Rig) -> Iterator[Prober]:
    """A prober of the app login's secret; its long-lived connection closed at the end."""
    prober = Prober(rig)
    yield prober
    prober.close()


def test_no_connection_fails_while_steps_and_logins_interleave(rig: Rig, prober: Prober) -> None:
    users = []
    for _ in range(2):  # to the clone, and back
        prober.begin_rotation()
        rig.rotations.start()
        prober.probe("after start")
        for step in STEPS:
            rig.rotations.step(step)
            prober.probe(f"after {step}")
        users.append(rig.current()["username"])
    assert users == [f"{APP_USER}_clone", APP_USER]
    assert prober.failures == []
    assert prober.rounds == 2 * 5 and prober.logins == 2 * prober.rounds


def test_the_prober_sees_a_single_user_rotation_refuse_connections(
    rig: Rig, prober: Prober
) -> None:
    # The same probes on the master's secret, which rotates single-user: between setSecret
    # and finishSecret AWSCURRENT's password no longer logs in, and a task's cached one never
    # does again. What alternating users avoid, and the proof that the prober can fail.
    prober.arn = rig.master_arn
    prober.begin_rotation()
    master_rotations = SecretsManagerRotation(rig.master_arn, rotation.handler, region=REGION)
    master_rotations.start()
    for step in STEPS:
        master_rotations.step(step)
        prober.probe(f"after {step}")
    assert prober.failures == [
        "after setSecret: login with AWSCURRENT: password refused",
        "after setSecret: login with cached: password refused",
        "after testSecret: login with AWSCURRENT: password refused",
        "after testSecret: login with cached: password refused",
        "after finishSecret: login with cached: password refused",
    ]


def test_no_connection_fails_while_a_thread_logs_in_during_the_rotations(
    rig: Rig, prober: Prober
) -> None:
    """One thread probes in a loop while this one runs two rotations, step by step; before
    each step it waits for the thread to have probed a few more times (counted, not timed),
    and the thread stops once this one has finished and it has probed enough."""
    finished = threading.Event()
    progress = threading.Condition()
    crashed: list[BaseException] = []
    minimum_rounds = 20  # at least PER_STEP before each of the 8 steps, and more after
    per_step = 2

    def loop() -> None:
        try:
            while not (finished.is_set() and prober.rounds >= minimum_rounds):
                prober.probe("thread")
                with progress:
                    progress.notify_all()
        except BaseException as error:  # the test fails on it, below
            crashed.append(error)
            with progress:
                progress.notify_all()

    def wait_for_rounds(count: int) -> None:
        with progress:
            reached = progress.wait_for(
                lambda: prober.rounds >= count or bool(crashed), timeout=THREAD_WAIT_SECONDS
            )
        assert reached and not crashed, (prober.rounds, crashed)

    prober.begin_rotation()
    thread = threading.Thread(target=loop, name="prober", daemon=True)
    thread.start()
    users = []
    try:
        for _ in range(2):  # to the clone, and back
            with prober.lock:
                prober.cached = rig.current()
                rig.rotations.start()
            for step in STEPS:
                wait_for_rounds(prober.rounds + per_step)
                with prober.lock:
                    rig.rotations.step(step)
            users.append(rig.current()["username"])
    finally:
        finished.set()
        thread.join(THREAD_WAIT_SECONDS)
    assert not thread.is_alive() and not crashed, crashed
    assert users == [f"{APP_USER}_clone", APP_USER]
    assert prober.failures == []
    assert prober.rounds >= minimum_rounds
    assert prober.logins == 2 * prober.rounds  # AWSCURRENT's and the cached credentials
