"""functions/db_rotation: the four rotation steps for real, against moto's Secrets Manager and
a real PostgreSQL server over TLS (its own CA, verify-full), as the function runs them."""

from __future__ import annotations

import json
import logging
import ssl
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import boto3
import psycopg
import pytest
from payments_local_servers.certificates import generate_ca
from payments_local_servers.postgres import DatabaseCredentials, PostgresServer
from payments_local_servers.secrets_rotation import STEPS, SecretsManagerRotation
from psycopg.conninfo import conninfo_to_dict

from functions.db_rotation import handler as rotation
from functions.db_rotation import rotation_steps, secret_versions
from functions.db_rotation.rotation_error import RotationError
from payments_infra.components.database.aurora import secret_document

REGION = "us-east-1"


@pytest.fixture(scope="module")
def postgres() -> Iterator[PostgresServer]:
    """One server for the module, logging every statement, as a DDL-logging cluster would
    log ALTER ROLE (the test of what reaches the server's log reads it)."""
    with PostgresServer() as server:
        with server.connect() as admin:
            admin.execute("ALTER SYSTEM SET log_statement = 'all'")
            admin.execute("SELECT pg_reload_conf()")
        yield server


@dataclass(frozen=True)
class Rig:
    """A secret in moto's Secrets Manager for a database of the real server, and the rotations
    of that secret by the function, as Secrets Manager runs them."""

    client: Any
    arn: str
    rotations: SecretsManagerRotation
    database: DatabaseCredentials
    postgres: PostgresServer

    def current(self) -> dict[str, Any]:
        value = self.client.get_secret_value(SecretId=self.arn, VersionStage="AWSCURRENT")
        return dict(json.loads(value["SecretString"]))

    def stages(self) -> dict[str, list[str]]:
        versions = self.client.describe_secret(SecretId=self.arn)["VersionIdsToStages"]
        return {version: sorted(labels) for version, labels in versions.items()}

    def current_version(self) -> str:
        (version,) = [v for v, labels in self.stages().items() if "AWSCURRENT" in labels]
        return version

    def logs_in(self, password: str) -> bool:
        """Whether the server accepts the password, over TLS with verify-full (libpq)."""
        try:
            with psycopg.connect(replace(self.database, password=password).conninfo()) as conn:
                conn.execute("SELECT 1")
        except psycopg.OperationalError as error:
            assert "password authentication failed" in str(error), error
            return False
        return True


def document_for(database: DatabaseCredentials, password: str) -> dict[str, Any]:
    """The secret's JSON as the stack writes it (aurora.secret_document), for this database."""
    document: dict[str, Any] = json.loads(secret_document(database.host, password, "aurora-x"))
    document.update(username=database.user, port=database.port, dbname=database.dbname)
    document["url"] = secret_versions.connection_url(document)
    return document


@pytest.fixture
def rig(aws: None, monkeypatch: pytest.MonkeyPatch, postgres: PostgresServer) -> Rig:
    """moto's Secrets Manager (the `aws` fixture) with the handler's client cache emptied, a
    new database on the server, its secret, and the function verifying the server against
    the test CA."""
    database = postgres.create_database(f"rotation_{uuid.uuid4().hex[:12]}")
    monkeypatch.setattr(rotation, "_CLIENTS", {})
    monkeypatch.setenv("DB_SSLROOTCERT", str(database.sslrootcert))
    client = boto3.client("secretsmanager", region_name=REGION)
    arn = client.create_secret(
        Name=f"db-credentials-{uuid.uuid4().hex[:8]}",
        SecretString=json.dumps(document_for(database, database.password)),
    )["ARN"]
    rotations = SecretsManagerRotation(arn, rotation.handler, region=REGION)
    return Rig(client, arn, rotations, database, postgres)


def url_credentials(url: str) -> dict[str, str]:
    """What libpq reads from the url (percent-decoding included)."""
    return {k: str(v) for k, v in conninfo_to_dict(url).items()}


# --- A whole rotation ----------------------------------------------------------------------------


def test_a_rotation_changes_the_password_and_keeps_every_key_consistent(rig: Rig) -> None:
    before, first_version = rig.current(), rig.current_version()

    token = rig.rotations.rotate()

    after = rig.current()
    assert after["password"] != before["password"]
    # Every key but password and url is as it was; url names the new password.
    unchanged = ("password", "url")
    assert {k: v for k, v in after.items() if k not in unchanged} == {
        k: v for k, v in before.items() if k not in unchanged
    }
    assert url_credentials(after["url"]) == {
        "user": rig.database.user,
        "password": after["password"],
        "host": rig.database.host,
        "port": str(rig.database.port),
        "dbname": rig.database.dbname,
        "sslmode": "verify-full",
    }
    assert rig.logs_in(after["password"])
    assert not rig.logs_in(before["password"])
    assert rig.stages() == {
        first_version: ["AWSPREVIOUS"],
        token: ["AWSCURRENT", "AWSPENDING"],
    }


def test_the_new_password_is_long_and_free_of_url_and_shell_delimiters(rig: Rig) -> None:
    rig.rotations.rotate()
    password = rig.current()["password"]
    assert len(password) == rotation_steps.PASSWORD_LENGTH == 32  # as long as the stack's first one
    assert not set(password) & set(rotation_steps.EXCLUDE_CHARACTERS)
    assert set("/@\"'\\:?#[]%&+=;, ") <= set(rotation_steps.EXCLUDE_CHARACTERS)


def test_rotating_again_moves_on_from_the_previous_password(rig: Rig) -> None:
    first = rig.rotations.rotate()
    second_password = rig.current()["password"]
    second = rig.rotations.rotate()
    third_password = rig.current()["password"]
    assert third_password != second_password
    assert rig.logs_in(third_password) and not rig.logs_in(second_password)
    labels = rig.stages()
    assert labels[first] == ["AWSPREVIOUS"] and labels[second] == ["AWSCURRENT", "AWSPENDING"]


# --- Each step may run again -------------------------------------------------------------------


def test_each_step_run_twice_changes_nothing_the_second_time(rig: Rig) -> None:
    before = rig.current()
    token = rig.rotations.start()

    def pending() -> str:
        return str(rig.client.get_secret_value(SecretId=rig.arn, VersionId=token)["SecretString"])

    rig.rotations.step("createSecret")
    created = pending()
    rig.rotations.step("createSecret")
    assert pending() == created
    new_password = json.loads(created)["password"]

    rig.rotations.step("setSecret")
    rig.rotations.step("setSecret")  # the pending password already logs in: nothing to do
    assert rig.logs_in(new_password) and not rig.logs_in(before["password"])
    assert rig.current() == before  # not finished yet

    rig.rotations.step("testSecret")
    rig.rotations.step("testSecret")

    rig.rotations.step("finishSecret")
    labels = rig.stages()
    rig.rotations.step("finishSecret")
    assert rig.stages() == labels
    assert labels[token] == ["AWSCURRENT", "AWSPENDING"]
    assert rig.current()["password"] == new_password


def test_a_whole_rotation_replayed_with_the_same_token_is_a_no_op(rig: Rig) -> None:
    token = rig.rotations.rotate()
    after, labels = rig.current(), rig.stages()
    for step in STEPS:
        rig.rotations.step(step, token)
    assert rig.current() == after
    assert rig.stages() == labels
    assert rig.logs_in(after["password"])


# --- A failed step leaves the old password working ---------------------------------------------


def test_a_test_step_whose_password_was_never_set_fails_and_changes_nothing(rig: Rig) -> None:
    before, version = rig.current(), rig.current_version()
    rig.rotations.start()
    rig.rotations.step("createSecret")
    with pytest.raises(RotationError, match="does not log in"):
        rig.rotations.step("testSecret")  # setSecret never ran: the pending password is wrong
    assert rig.current_version() == version
    assert rig.current() == before
    assert rig.logs_in(before["password"])

    # Secrets Manager tries again with the same token, and the rotation completes.
    for step in STEPS:
        rig.rotations.step(step)
    assert rig.logs_in(rig.current()["password"])
    assert not rig.logs_in(before["password"])


def test_set_refuses_a_server_the_ca_bundle_does_not_verify_and_changes_nothing(
    rig: Rig, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    before, version = rig.current(), rig.current_version()
    other_ca = tmp_path / "other-ca.pem"
    other_ca.write_bytes(generate_ca("not the database's CA").cert_pem)
    monkeypatch.setenv("DB_SSLROOTCERT", str(other_ca))
    rig.rotations.start()
    rig.rotations.step("createSecret")
    with pytest.raises(ssl.SSLCertVerificationError, match="certificate verify failed"):
        rig.rotations.step("setSecret")
    assert rig.current_version() == version
    assert rig.current() == before
    assert rig.logs_in(before["password"])

    # With the right bundle, the same rotation goes through.
    monkeypatch.setenv("DB_SSLROOTCERT", str(rig.database.sslrootcert))
    for step in STEPS[1:]:
        rig.rotations.step(step)
    assert rig.logs_in(rig.current()["password"])


def test_set_fails_clearly_when_no_password_of_the_secret_logs_in(rig: Rig) -> None:
    version = rig.current_version()
    rig.postgres.set_password(rig.database.user, "changed-outside-the-rotation")
    rig.rotations.start()
    rig.rotations.step("createSecret")
    with pytest.raises(RotationError, match="changed outside the rotation"):
        rig.rotations.step("setSecret")
    assert rig.current_version() == version
    assert rig.logs_in("changed-outside-the-rotation")


def test_set_falls_back_to_the_previous_password(rig: Rig) -> None:
    # The database went back to the password before the last rotation (a restore from a
    # snapshot): AWSCURRENT no longer logs in, AWSPREVIOUS does.
    first_password = rig.current()["password"]
    rig.rotations.rotate()
    rig.postgres.set_password(rig.database.user, first_password)
    rig.rotations.rotate()
    assert rig.logs_in(rig.current()["password"])
    assert not rig.logs_in(first_password)


# --- The checks before any step -----------------------------------------------------------------


def test_steps_refuse_a_secret_without_rotation_or_a_token_that_is_not_pending(rig: Rig) -> None:
    event = {"Step": "createSecret", "SecretId": rig.arn, "ClientRequestToken": "x" * 36}
    with pytest.raises(RotationError, match="rotation is not enabled"):
        rotation.handler(event, None)
    rig.rotations.start()
    with pytest.raises(RotationError, match="is not a version of"):
        rotation.handler(event, None)
    previous = rig.current_version()
    token = rig.rotations.rotate()
    with pytest.raises(RotationError, match="is not labelled AWSPENDING"):
        rotation.handler({**event, "ClientRequestToken": previous}, None)
    # The current version: the rotation is over, nothing to do.
    rotation.handler({**event, "Step": "setSecret", "ClientRequestToken": token}, None)
    with pytest.raises(RotationError, match="unknown rotation step"):
        rotation.handler({**event, "Step": "dropSecret", "ClientRequestToken": token}, None)


def test_a_secret_that_is_not_for_postgres_is_refused(rig: Rig) -> None:
    rig.client.put_secret_value(
        SecretId=rig.arn, SecretString=json.dumps({**rig.current(), "engine": "mysql"})
    )
    rig.rotations.start()
    with pytest.raises(RotationError, match="not for engine postgres"):
        rig.rotations.step("createSecret")


# --- Never a value in a log ----------------------------------------------------------------------


def test_no_password_or_url_reaches_the_function_log_or_the_server_log(
    rig: Rig, caplog: pytest.LogCaptureFixture
) -> None:
    before = rig.current()
    server_log_start = rig.postgres.log_path.stat().st_size
    with caplog.at_level(logging.DEBUG):  # botocore's wire logs included, were they on
        rig.rotations.rotate()
    after = rig.current()
    assert "finishSecret: done" in caplog.text
    server_log = rig.postgres.log_path.read_text()[server_log_start:]
    assert "ALTER ROLE" in server_log  # the statement is logged...
    for value in (before["password"], after["password"], before["url"], after["url"]):
        assert value not in caplog.text
        assert value not in server_log  # ...with a SCRAM verifier, not the password


# --- The document ---------------------------------------------------------------------------------


def test_the_url_is_rebuilt_exactly_as_the_stack_writes_it() -> None:
    first = json.loads(secret_document("db.example", "Abc-123_x.y~z", "aurora-x"))
    rotated = secret_versions.with_password(first, "Abc-123_x.y~z")
    assert rotated == first  # the same password gives the stack's own document back
    assert json.loads(secret_document("db.example", "New-456", "aurora-x")) == (
        secret_versions.with_password(first, "New-456")
    )


def test_a_password_with_url_delimiters_is_percent_encoded_in_the_url() -> None:
    document = json.loads(secret_document("db.example", "old", "aurora-x"))
    password = "a!$()*<>^`{|}~b"
    rotated = secret_versions.with_password(document, password)
    assert unquote(urlsplit(rotated["url"]).password or "") == password
    assert url_credentials(rotated["url"])["password"] == password
    secret_versions.check_consistent(rotated)


def test_a_stale_url_is_caught_by_name_not_by_value() -> None:
    # What AWS's single-user function leaves behind: a new password, the url of the old one.
    document = json.loads(secret_document("db.example", "old-password", "aurora-x"))
    stale = {**document, "password": "new-password"}
    with pytest.raises(RotationError, match="url disagrees with the keys password") as caught:
        secret_versions.check_consistent(stale)
    assert "new-password" not in str(caught.value) and "old-password" not in str(caught.value)
