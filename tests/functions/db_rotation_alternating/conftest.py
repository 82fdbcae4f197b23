"""The alternating-users tests' fixtures: one PostgreSQL server for all of them, and per test
a database migrated by the API's migrations with its three secrets (``rig``)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from payments_local_servers.postgres import PostgresServer
from payments_local_servers.secrets_rotation import SecretsManagerRotation
from psycopg import sql

from functions.db_rotation import handler as rotation
from tests.functions.db_rotation_alternating.alternating_rig import (
    APP_GROUP,
    APP_USER,
    KEYS_GROUP,
    KEYS_USER,
    REGION,
    Rig,
    create_roles,
    document_for,
    drop_roles,
    set_login_password,
)


@pytest.fixture(scope="package")
def postgres() -> Iterator[PostgresServer]:
    """One server for the package (the tests were one module), logging every statement (the
    tests of what reaches the server's log read it)."""
    with PostgresServer() as server:
        with server.connect() as admin:
            admin.execute("ALTER SYSTEM SET log_statement = 'all'")
            admin.execute("SELECT pg_reload_conf()")
        yield server


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
