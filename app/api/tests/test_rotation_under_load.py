"""Alternating-users rotations while the API serves a steady load: no failed request, no lost
payment.

The real HTTPS server runs as a subprocess, logged in as a login of a pair of its own (`<u>`
and `<u>_clone`, LOGIN, members of the migrations' payments_app only: other tests' payments_api
is never touched), with DB_SECRET_ARN naming that login's secret. The secret has `masterarn`,
so the stack's rotation function (functions/db_rotation, in this process) rotates it with
alternating users, logged in as the master (the database's owner). Secrets Manager is moto's:
in process for the rotation (`SecretsManagerRotation` runs the four steps as the service
does), and over HTTP for the server (AWS_ENDPOINT_URL, tests/utils/moto_http.py).

Worker threads (`Load`, tests/utils/steady_load.py) POST payments without pause while the
main thread runs two rotations, each step only once every worker has completed more requests
since the last one, so every step overlaps live traffic. After each rotation every session of
both users is ended (the load pausing between requests meanwhile: `end_sessions` says why), so
the pool has to log in again:

1. after the first, the secret names `<u>_clone`; the API still holds `<u>`'s password, which
   the rotation never changed: new logins work and the secret is not even re-read;
2. after the second, the secret names `<u>` again with a new password: the API's logins are
   refused, it re-reads the secret, rebuilds its pool and retries, and no request fails.

Every wait is for a state (a number of completed requests), bounded, and ends at once with
the failures when any request has failed.
"""

from __future__ import annotations

import importlib
import json
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import boto3
import psycopg
import pytest
from moto import mock_aws
from payments_local_servers.api import ApiServer, AppDatabase
from payments_local_servers.postgres import DatabaseCredentials, PostgresServer
from payments_local_servers.secrets_rotation import STEPS, SecretsManagerRotation
from psycopg import sql

from payments_api.roles import APP_GROUP
from tests.utils.keys import new_api_key
from tests.utils.moto_http import MotoSecretsManagerFront
from tests.utils.rotation_function import rotation_function
from tests.utils.settings import server_env
from tests.utils.steady_load import Load
from tests.utils.waiting import wait_for

rotation = rotation_function()  # also puts the repository root on sys.path
# The stack's own secret JSON, as the stack writes it
# (payments_infra/components/database/aurora.py).
aurora: Any = importlib.import_module("payments_infra.components.database.aurora")

REGION = "us-east-1"
WORKERS = 4
# Successful payments before the first rotation starts: the load is steady by then.
WARM_UP_PAYMENTS = 40
# Requests each worker completes after every step and every ending of sessions.
REQUESTS_PER_STAGE = 5
ROTATIONS = 2
# The API's own application_name (payments_api.db_connection.connection_params).
API_APPLICATION_NAME = "payments-api"


@dataclass(frozen=True)
class LoginPair:
    """`user` and `clone`, the pair the secret alternates between; `user` has `password`."""

    user: str
    clone: str
    password: str


@pytest.fixture
def login_pair(postgres: PostgresServer, isolated_database: AppDatabase) -> Iterator[LoginPair]:
    """Two LOGIN roles of this test only, with identical attributes, members of payments_app
    (the group the migrations of `isolated_database` granted) and of nothing else; the first
    with a password, the clone with none (the first rotation gives it one)."""
    user = f"rot_{uuid.uuid4().hex[:12]}"
    pair = LoginPair(user, user + rotation.CLONE_SUFFIX, uuid.uuid4().hex)
    with postgres.connect() as admin:
        for role, password in ((pair.user, pair.password), (pair.clone, None)):
            admin.execute(
                sql.SQL("CREATE ROLE {} LOGIN INHERIT PASSWORD {} IN ROLE {}").format(
                    sql.Identifier(role), sql.Literal(password), sql.Identifier(APP_GROUP)
                )
            )
    try:
        yield pair
    finally:
        with postgres.connect() as admin:
            for role in (pair.user, pair.clone):
                admin.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = %s",
                    (role,),
                )
                admin.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(role)))


@pytest.fixture
def secretsmanager(
    monkeypatch: pytest.MonkeyPatch, isolated_database: AppDatabase
) -> Iterator[Any]:
    """moto's Secrets Manager in this process (fake credentials, no profile or endpoint of the
    environment), and the rotation function verifying the server against the test CA."""
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_SECRETSMANAGER"):
        monkeypatch.delenv(name, raising=False)
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(name, "testing")
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("DB_SSLROOTCERT", str(isolated_database.master.sslrootcert))
    monkeypatch.setattr(rotation, "_CLIENTS", {})
    with mock_aws():
        yield boto3.client("secretsmanager", region_name=REGION)


def stack_document(
    database: DatabaseCredentials, username: str, password: str, master_arn: str | None = None
) -> dict[str, Any]:
    """aurora.secret_document's JSON for this database (the stack's port and database name
    replaced by the test server's, and `url` made to agree)."""
    document: dict[str, Any] = json.loads(
        aurora.secret_document(
            database.host,
            password,
            "aurora-rotation-load",
            username=username,
            master_secret_arn=master_arn,
        )
    )
    document.update(port=database.port, dbname=database.dbname)
    document["url"] = rotation.connection_url(document)
    return document


def current_secret(client: Any, arn: str) -> dict[str, Any]:
    value = client.get_secret_value(SecretId=arn, VersionStage="AWSCURRENT")["SecretString"]
    document: dict[str, Any] = json.loads(value)
    return document


def logs_in(database: DatabaseCredentials, user: str, password: str) -> bool:
    try:
        with psycopg.connect(database.as_user(user, password).conninfo()) as conn:
            conn.execute("SELECT 1")
    except psycopg.OperationalError as error:
        assert "password authentication failed" in str(error), error
        return False
    return True


def api_session_users(postgres: PostgresServer, dbname: str) -> set[str]:
    """The users the API's sessions to `dbname` are logged in as."""
    with postgres.connect() as admin:
        rows = admin.execute(
            "SELECT DISTINCT usename FROM pg_stat_activity"
            " WHERE datname = %s AND application_name = %s",
            (dbname, API_APPLICATION_NAME),
        ).fetchall()
    return {str(row[0]) for row in rows}


def api_backends(postgres: PostgresServer, dbname: str, pair: LoginPair) -> int:
    """How many server processes (sessions) the pair's users have in `dbname`."""
    with postgres.connect() as admin:
        row = admin.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND usename IN (%s, %s)",
            (dbname, pair.user, pair.clone),
        ).fetchone()
    assert row is not None and isinstance(row[0], int)
    return row[0]


def end_sessions(postgres: PostgresServer, dbname: str, pair: LoginPair, load: Load) -> None:
    """End every session of both users, between requests: the load pauses (the requests in
    flight end), the sessions are terminated and their server processes gone, then the load
    resumes, and every pooled connection the API holds is dead.

    Between requests, because pg_terminate_backend only signals a server process: one in
    the middle of a request's statement can outlive the pool's check of its idle
    connections, or go back to the pool before it dies, and a request whose first
    connection was dead then gets a second dead one and its one repeat fails (a 503: seen
    in 6 runs of 76 with the load running through the termination). That is
    the API's bound on repeats under a mass termination, not a rotation's doing, and not
    what this test is about."""
    load.pause()
    try:
        ended = sum(postgres.terminate_sessions(user) for user in (pair.user, pair.clone))
        assert ended >= 1, "the API had no session to end"
        wait_for(
            lambda: api_backends(postgres, dbname, pair) == 0,
            "the terminated sessions' server processes to exit",
        )
    finally:
        load.resume()


def test_alternating_rotations_under_load_fail_no_request_and_lose_no_payment(
    postgres: PostgresServer,
    isolated_database: AppDatabase,
    login_pair: LoginPair,
    secretsmanager: Any,
    tmp_path: Path,
) -> None:
    started = time.monotonic()
    master = isolated_database.master  # the database's owner: a superuser here
    login = master.as_user(login_pair.user, login_pair.password)

    master_arn = secretsmanager.create_secret(
        Name=f"db-master-{uuid.uuid4().hex[:8]}",
        SecretString=json.dumps(stack_document(master, master.user, master.password)),
    )["ARN"]
    arn = secretsmanager.create_secret(
        Name=f"db-app-{uuid.uuid4().hex[:8]}",
        SecretString=json.dumps(stack_document(master, login.user, login.password, master_arn)),
    )["ARN"]
    rotations = SecretsManagerRotation(arn, rotation.handler, region=REGION)
    key = new_api_key(isolated_database)

    with MotoSecretsManagerFront(REGION) as front:
        aws_dir = tmp_path / "aws"  # no config or credentials file of this machine
        env = server_env(
            replace(isolated_database, api=login),
            DB_SECRET_ARN=arn,
            AWS_REGION=REGION,
            AWS_ENDPOINT_URL=front.endpoint_url,
            AWS_ACCESS_KEY_ID="testing",
            AWS_SECRET_ACCESS_KEY="testing",
            AWS_CONFIG_FILE=str(aws_dir / "config"),
            AWS_SHARED_CREDENTIALS_FILE=str(aws_dir / "credentials"),
            AWS_EC2_METADATA_DISABLED="true",
            # A refused login is diagnosed after this wait for a pooled connection.
            DB_POOL_TIMEOUT="2",
            # Rotations days apart happen here seconds apart: no rate limit on the re-read.
            DB_REBUILD_MIN_INTERVAL="0",
        )
        with ApiServer(env, tmp_path / "server") as server:
            server.wait_until_ready()
            load = Load(server, key, WORKERS)
            load.start()
            try:
                load.wait_for_successes(WARM_UP_PAYMENTS, "before the first rotation")
                secrets = [current_secret(secretsmanager, arn)]
                for number in range(1, ROTATIONS + 1):
                    rotations.start()
                    for step in STEPS:
                        rotations.step(step)
                        load.wait_for_each_worker(
                            REQUESTS_PER_STAGE, f"after {step} of rotation {number}"
                        )
                    secrets.append(current_secret(secretsmanager, arn))
                    re_reads = front.requests
                    # Sessions end (connection recycling, a failover): the pool logs in anew.
                    end_sessions(postgres, master.dbname, login_pair, load)
                    load.wait_for_each_worker(
                        REQUESTS_PER_STAGE, f"after ending the sessions of rotation {number}"
                    )
                    # The API is logged in as the user of the first password, then of the
                    # secret; it re-reads the secret only once that password is refused.
                    assert api_session_users(postgres, master.dbname) == {login_pair.user}
                    if number == 1:
                        assert front.requests == re_reads, "re-read while its login still worked"
                    else:
                        assert front.requests > re_reads, "the API never re-read the secret"
                load.wait_for_each_worker(REQUESTS_PER_STAGE, "after the rotations")
            finally:
                load.finish()
            server_log = server.output()

    # Zero failures: every response was a 201, and no worker raised.
    assert load.failures == []
    assert set(load.statuses) == {201}, load.statuses
    requests = sum(load.completed)
    assert load.statuses[201] == requests
    assert "database credentials re-read from Secrets Manager" in server_log

    # Zero lost payments: every created payment is in the database once, with its key, and
    # nothing else is (read as the master, which owns the table).
    with psycopg.connect(master.conninfo()) as conn:
        rows = conn.execute("SELECT idempotency_key, id::text FROM payments").fetchall()
    stored = {str(k): str(v) for k, v in rows}
    assert len(rows) == len(stored) == requests
    assert stored == load.created
    assert len(set(load.created.values())) == requests

    # The secret went user -> clone -> user, with a new password each time.
    first, middle, last = secrets
    assert [s["username"] for s in secrets] == [
        login_pair.user,
        login_pair.clone,
        login_pair.user,
    ]
    assert len({s["password"] for s in secrets}) == 3
    assert {k: v for k, v in last.items() if k not in rotation.ROTATED_KEYS} == {
        k: v for k, v in first.items() if k not in rotation.ROTATED_KEYS
    }
    assert last == current_secret(secretsmanager, arn)
    # The first password is gone; the current one logs in, and so does the clone's previous
    # one (alternating: the credentials a task read before keep working until the next).
    assert not logs_in(master, login_pair.user, login_pair.password)
    assert logs_in(master, login_pair.user, str(last["password"]))
    assert logs_in(master, login_pair.clone, str(middle["password"]))

    duration = time.monotonic() - started
    print(
        f"\n{requests} requests ({WORKERS} workers), {len(stored)} payments, "
        f"{ROTATIONS} rotations, {front.requests} re-reads of the secret, "
        f"slowest request {load.slowest:.2f} s, {duration:.1f} s"
    )
