"""The running API keeps serving across a rotation by the stack's own rotation function
(functions/db_rotation): the four steps run in process against moto's Secrets Manager and the
same PostgreSQL server (over TLS, verify-full) that the API uses."""

import json
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import boto3
import psycopg
import pytest
from fastapi.testclient import TestClient
from moto import mock_aws
from payments_local_servers.api import AppDatabase
from payments_local_servers.postgres import DatabaseCredentials, PostgresServer
from payments_local_servers.secrets_rotation import STEPS, SecretsManagerRotation

from payments_api.db_credentials import credentials_from_secret
from payments_api.main import create_app
from tests.utils.keys import bearer, new_api_key
from tests.utils.payments import idempotency_headers, payment_body
from tests.utils.ready import wait_until_ready
from tests.utils.rotation_function import rotation_function
from tests.utils.settings import settings_for

rotation = rotation_function()


@pytest.fixture
def secretsmanager(
    monkeypatch: pytest.MonkeyPatch, own_login_database: AppDatabase
) -> Iterator[Any]:
    """moto's Secrets Manager in process, fake credentials for this test only, and the
    rotation function verifying the database against the test server's CA."""
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_SECRETSMANAGER"):
        monkeypatch.delenv(name, raising=False)
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.setenv(name, "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("DB_SSLROOTCERT", str(own_login_database.api.sslrootcert))
    monkeypatch.setattr(rotation, "_CLIENTS", {})
    with mock_aws():
        yield boto3.client("secretsmanager", region_name="us-east-1")


def stack_secret(database: DatabaseCredentials) -> str:
    """The JSON the stack keeps in the database secret (aurora.secret_document's keys)."""
    document = {
        "engine": "postgres",
        "host": database.host,
        "port": database.port,
        "username": database.user,
        "password": database.password,
        "dbname": database.dbname,
        "dbClusterIdentifier": "aurora-cluster-test",
    }
    return json.dumps({**document, "url": rotation.connection_url(document)})


def current_secret(secretsmanager: Any, arn: str) -> dict[str, Any]:
    value = secretsmanager.get_secret_value(SecretId=arn)["SecretString"]
    secret: dict[str, Any] = json.loads(value)
    return secret


def logs_in(database: DatabaseCredentials, password: str) -> bool:
    try:
        psycopg.connect(replace(database, password=password).conninfo()).close()
    except psycopg.OperationalError:
        return False
    return True


def pay(client: TestClient) -> None:
    response = client.post("/api/payments", json=payment_body(), headers=idempotency_headers())
    assert response.status_code == 201, response.text


def test_the_api_keeps_serving_across_rotations_by_the_stacks_function(
    postgres: PostgresServer, own_login_database: AppDatabase, secretsmanager: Any
) -> None:
    login = own_login_database.api  # a role of its own: the rotations change its password
    arn = secretsmanager.create_secret(
        Name="db-credentials-test", SecretString=stack_secret(login)
    )["ARN"]
    rotations = SecretsManagerRotation(arn, rotation.handler)
    settings = settings_for(own_login_database, db_secret_arn=arn, db_rebuild_min_interval=0)
    key = new_api_key(own_login_database)
    old_password = login.password
    with TestClient(create_app(settings), headers=bearer(key)) as client:
        wait_until_ready(client)
        pay(client)
        for _ in range(2):  # a second rotation starts from the first one's password
            rotations.start()
            for step in STEPS:
                rotations.step(step)
                pay(client)  # pooled sessions outlive ALTER ROLE: no pause at any step
            # Sessions end (recycling, a failover): new ones need the new password, which the
            # API re-reads from the secret on the authentication failure.
            postgres.terminate_sessions(login.user)
            pay(client)
            rotated = current_secret(secretsmanager, arn)
            assert rotated["password"] != old_password
            assert logs_in(login, rotated["password"])
            assert not logs_in(login, old_password)
            # A consumer that reads only `url` gets the new password too.
            assert credentials_from_secret({"url": rotated["url"]}) == {
                "user": login.user,
                "password": rotated["password"],
            }
            old_password = rotated["password"]
