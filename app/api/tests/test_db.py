"""The pool's recovery: rotated passwords (Secrets Manager emulated by moto), the guard on
re-reads, and a database that only becomes usable after start."""

import json
import secrets
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import boto3
import pytest
from fastapi.testclient import TestClient
from moto import mock_aws
from payments_local_servers.api import AppDatabase
from payments_local_servers.postgres import PostgresServer

from payments_api.db import DatabasePool
from payments_api.db_connection import DatabaseUnavailableError
from payments_api.db_credentials import credentials_from_secret
from payments_api.main import create_app
from payments_api.metrics import end_request_timing, start_request_timing
from payments_api.store import Conn
from tests.utils.keys import bearer, new_api_key
from tests.utils.payments import idempotency_headers, payment_body
from tests.utils.ready import wait_until_ready
from tests.utils.settings import settings_for


def rds_secret(app_database: AppDatabase, password: str) -> str:
    """The JSON that RDS keeps in a managed secret, of the API's login."""
    database = app_database.api
    return json.dumps(
        {
            "engine": "postgres",
            "host": database.host,
            "port": database.port,
            "username": database.user,
            "password": password,
            "dbname": database.dbname,
            "dbClusterIdentifier": "payments",
            "url": f"postgresql://{database.user}:{password}@{database.host}:{database.port}/"
            f"{database.dbname}",
        }
    )


@pytest.fixture
def secretsmanager(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """moto's Secrets Manager, in process; fake credentials only for this test."""
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_SECRETSMANAGER"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "testing")
    with mock_aws():
        yield boto3.client("secretsmanager", region_name="us-east-1")


def test_api_recovers_from_a_rotated_password_without_restart(
    postgres: PostgresServer, own_login_database: AppDatabase, secretsmanager: Any
) -> None:
    database = own_login_database
    arn = secretsmanager.create_secret(
        Name="payments-db", SecretString=rds_secret(database, database.api.password)
    )["ARN"]
    # No minimum interval between rebuilds here (that guard has its own test below): on a loaded
    # machine the pool's first connection can take longer than DB_POOL_TIMEOUT, the start-up
    # check then rebuilds the pool once, and a 5 s guard would refuse the rebuild this test needs.
    settings = settings_for(database, db_secret_arn=arn, db_rebuild_min_interval=0)
    key = new_api_key(database)
    with TestClient(create_app(settings), headers=bearer(key)) as client:
        wait_until_ready(client)
        first = client.post("/api/payments", json=payment_body(), headers=idempotency_headers())
        assert first.status_code == 201

        rotated = secrets.token_urlsafe(16)
        postgres.set_password(database.api.user, rotated)
        secretsmanager.put_secret_value(SecretId=arn, SecretString=rds_secret(database, rotated))
        # Sessions survive ALTER ROLE; close them, as recycling or a failover would.
        postgres.terminate_sessions(database.api.user)

        response = client.post("/api/payments", json=payment_body(), headers=idempotency_headers())
    assert response.status_code == 201, response.text


class CountingCredentials:
    """A credential source that counts reads and always returns the same password."""

    def __init__(self, password: str) -> None:
        self.password = password
        self.reads = 0

    def fetch(self) -> dict[str, str]:
        self.reads += 1
        return {"password": self.password}


@pytest.mark.anyio
async def test_credentials_are_reread_at_most_once_per_interval(
    isolated_database: AppDatabase,
) -> None:
    settings = settings_for(
        isolated_database, db_password="wrong", db_pool_timeout=0.3, db_rebuild_min_interval=60
    )
    source = CountingCredentials("still-wrong")
    pool = DatabasePool(settings, credentials=source)
    await pool.open()
    try:
        for _ in range(3):
            with pytest.raises(DatabaseUnavailableError, match="password authentication failed"):
                await pool.check_ready()
    finally:
        await pool.close()
    assert source.reads == 1


@pytest.mark.anyio
async def test_unreachable_host_does_not_reread_the_credentials(
    isolated_database: AppDatabase,
) -> None:
    settings = settings_for(isolated_database, db_host="127.0.0.2", db_pool_timeout=0.3)
    source = CountingCredentials("irrelevant")
    pool = DatabasePool(settings, credentials=source)
    await pool.open()
    try:
        with pytest.raises(DatabaseUnavailableError, match="Connection refused"):
            await pool.check_ready()
    finally:
        await pool.close()
    assert source.reads == 0


def test_the_api_is_ready_as_soon_as_the_database_accepts_the_login(
    postgres: PostgresServer, own_login_database: AppDatabase
) -> None:
    role = own_login_database.api.user
    with postgres.connect() as admin:
        admin.execute(f'ALTER ROLE "{role}" NOLOGIN')
    settings = settings_for(own_login_database, db_pool_timeout=0.5)
    key = new_api_key(own_login_database)
    with TestClient(create_app(settings), headers=bearer(key)) as client:
        assert client.get("/readyz").status_code == 503
        with postgres.connect() as admin:
            admin.execute(f'ALTER ROLE "{role}" LOGIN')
        # The pool is in its reconnect backoff by now; the API must not wait it out.
        assert client.get("/readyz").json() == {"status": "ready"}
        created = client.post("/api/payments", json=payment_body(), headers=idempotency_headers())
        assert created.status_code == 201, created.text


def test_credentials_come_from_the_secret_username_and_password() -> None:
    secret = {"username": "app", "password": "p", "url": "postgresql://old:q@h/db"}
    assert credentials_from_secret(secret) == {"user": "app", "password": "p"}


def test_secret_without_a_password_is_rejected() -> None:
    with pytest.raises(ValueError, match="no password"):
        credentials_from_secret({"username": "app"})


@pytest.fixture
async def pool(app_database: AppDatabase) -> AsyncIterator[DatabasePool]:
    database_pool = DatabasePool(settings_for(app_database, db_statement_timeout=1.0))
    await database_pool.open()
    try:
        yield database_pool
    finally:
        await database_pool.close()


async def fetch_one(conn: Conn, query: str) -> tuple[object, ...] | None:
    cursor = await conn.execute(query)
    return await cursor.fetchone()


@pytest.mark.anyio
async def test_connections_carry_the_statement_timeout_and_tcp_keepalives(
    pool: DatabasePool,
) -> None:
    async def settings(conn: Conn) -> tuple[object, str]:
        return await fetch_one(conn, "SHOW statement_timeout"), conn.info.get_parameters()[
            "keepalives"
        ]

    assert await pool.run(settings) == (("1s",), "1")


@pytest.mark.anyio
async def test_the_client_ends_a_statement_the_server_does_not_end(pool: DatabasePool) -> None:
    # The server's statement_timeout is switched off, as a frozen server could not apply it:
    # the client-side deadline (DB_STATEMENT_TIMEOUT) still ends the wait.
    async def sleep_long(conn: Conn) -> None:
        await conn.execute("SET statement_timeout = 0")
        await conn.execute("SELECT pg_sleep(30)")

    begun = time.monotonic()
    with pytest.raises(DatabaseUnavailableError, match=r"did not answer within 1 s"):
        await pool.run(sleep_long)
    assert time.monotonic() - begun < 10  # bounds only a failure; the deadline is 1 s
    # The broken connection was not handed out again.
    assert await pool.run(lambda conn: fetch_one(conn, "SELECT 1")) == (1,)


@pytest.mark.anyio
async def test_work_is_repeated_once_on_a_new_connection_when_the_server_closed_the_first(
    postgres: PostgresServer, own_login_database: AppDatabase
) -> None:
    # No check on checkout (it would cost a round trip per request): a connection the server
    # closed while it sat in the pool fails its first statement, and `run` repeats the work.
    pool = DatabasePool(settings_for(own_login_database, db_pool_min=1, db_pool_max=1))
    await pool.open()
    try:
        assert await pool.run(lambda conn: fetch_one(conn, "SELECT 1")) == (1,)
        postgres.terminate_sessions(own_login_database.api.user)
        calls = 0

        async def counted(conn: Conn) -> tuple[object, ...] | None:
            nonlocal calls
            calls += 1
            return await fetch_one(conn, "SELECT 2")

        assert await pool.run(counted) == (2,)
        assert calls == 2
    finally:
        await pool.close()


@pytest.mark.anyio
async def test_the_database_work_of_one_request_shares_one_deadline(pool: DatabasePool) -> None:
    # Two runs of one request (a route's statements, say): the second gets what the first
    # left, not a deadline of its own.
    timing, token = start_request_timing()
    try:
        assert await pool.run(lambda conn: fetch_one(conn, "SELECT 1")) == (1,)
        assert timing.database_deadline is not None
        timing.database_deadline = time.monotonic()  # the request's time is used up
        with pytest.raises(DatabaseUnavailableError, match="within its deadline of"):
            await pool.run(lambda conn: fetch_one(conn, "SELECT 1"))
    finally:
        end_request_timing(token)
    # Outside a request, each run has a deadline of its own.
    assert await pool.run(lambda conn: fetch_one(conn, "SELECT 1")) == (1,)
