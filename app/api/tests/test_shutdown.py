"""Shutdown of the real HTTPS server on SIGTERM, as ECS stops a task, seen from raw TLS
clients on loopback: idle connections are closed at once (the process does not wait for them),
a request in flight gets its whole answer, and a request whose body is still arriving gets a
503 it can retry elsewhere.

TIMEOUT_GRACEFUL_SHUTDOWN is set far above every bound here, so a server that waits for its
idle connections (until the graceful timeout, or uvloop's 30 s wait for the peer's TLS
close_notify) cannot pass by luck. Every wait is for a state (an answer, a log record, a
database lock, the process's exit); the bounds only end a failure."""

import ssl
import subprocess
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import orjson
import psycopg
import pytest
from payments_local_servers.api import ApiServer, AppDatabase
from payments_local_servers.postgres import PostgresServer

from payments_api.request_guards import SECURITY_HEADERS
from payments_api.store import request_hash
from tests.utils.api_server import read_response, read_until_closed, tls_connection
from tests.utils.keys import TEST_CLIENT
from tests.utils.payments import new_idempotency_key
from tests.utils.settings import server_env
from tests.utils.waiting import wait_for

GRACE_SECONDS = 120
# Below uvloop's 30 s wait for a TLS peer's close_notify and far below GRACE_SECONDS: a server
# still waiting for an idle connection is still running then. It exits in well under a second.
EXIT_BOUND_SECONDS = 15
# Only bounds a failure: an answer not there by then is not coming.
GIVE_UP_SECONDS = 15
PAYMENT = orjson.dumps({"amount_minor": 100, "currency": "USD", "merchant_reference": "stop"})


@pytest.fixture
def server(app_database: AppDatabase, tmp_path: Path) -> Iterator[ApiServer]:
    env = server_env(
        app_database,
        TIMEOUT_GRACEFUL_SHUTDOWN=str(GRACE_SECONDS),
        # Neither read deadline may end a connection here: only the shutdown does.
        REQUEST_HEAD_TIMEOUT="60",
        REQUEST_BODY_TIMEOUT="60",
        # A request held by a database lock must outlive the test's steps, not time out.
        DB_STATEMENT_TIMEOUT="30",
    )
    with ApiServer(env, tmp_path) as api:
        api.wait_until_ready()
        yield api


def connect(server: ApiServer) -> ssl.SSLSocket:
    """A TLS connection whose handshake is done."""
    return tls_connection(server, GIVE_UP_SECONDS)


def is_closed_by_server(tls: ssl.SSLSocket) -> bool:
    """Read to the end: True once the server has closed (its close_notify or its FIN)."""
    read_until_closed(tls)
    return True


def post_head(api_key: str, idempotency_key: str, *extra: str) -> bytes:
    lines = [
        "POST /api/payments HTTP/1.1",
        "Host: 127.0.0.1",
        f"Authorization: Bearer {api_key}",
        f"Idempotency-Key: {idempotency_key}",
        "Content-Type: application/json",
        f"Content-Length: {len(PAYMENT)}",
        *extra,
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def wait_for_record(server: ApiServer, select: Callable[[dict[str, Any]], bool], what: str) -> None:
    wait_for(lambda: any(select(r) for r in server.log_records()), what)


def exit_code_within(server: ApiServer, seconds: float) -> int:
    assert server.process is not None
    try:
        return server.process.wait(timeout=seconds)
    except subprocess.TimeoutExpired:
        pytest.fail(
            f"still running {seconds} s after SIGTERM (graceful timeout {GRACE_SECONDS} s):\n"
            + server.output()[-3000:]
        )


def test_sigterm_closes_idle_connections_at_once_and_finishes_the_request_in_flight(
    server: ApiServer, postgres: PostgresServer, app_database: AppDatabase, api_key: str
) -> None:
    key = new_idempotency_key("shutdown")
    with ExitStack() as open_until_the_end:  # no client here closes before the server exits
        handshake_only = open_until_the_end.enter_context(connect(server))
        kept_alive = open_until_the_end.enter_context(connect(server))
        kept_alive.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        status, _, _ = read_response(kept_alive)
        assert status.startswith(b"HTTP/1.1 200 ")
        # The request in flight: its INSERT waits for a transaction that holds its key.
        blocker = open_until_the_end.enter_context(psycopg.connect(app_database.master.conninfo()))
        blocker.execute(
            "INSERT INTO payments (client_id, idempotency_key, request_hash, amount_minor,"
            " currency, merchant_reference) VALUES (%s, %s, %s, 100, 'USD', 'stop')",
            (TEST_CLIENT, key, request_hash(100, "USD", "stop")),
        )
        in_flight = open_until_the_end.enter_context(connect(server))
        in_flight.sendall(post_head(api_key, key) + PAYMENT)
        with postgres.connect(app_database.master.dbname) as admin:
            wait_for(
                lambda: (
                    admin.execute(
                        "SELECT count(*) FROM pg_stat_activity"
                        " WHERE usename = 'payments_api' AND wait_event_type = 'Lock'"
                        " AND datname = current_database()"
                    ).fetchone()
                    == (1,)
                ),
                "the API's INSERT waiting for the blocker's lock",
            )
        server.terminate()
        wait_for_record(server, lambda r: r.get("message") == "Shutting down", "shutdown begun")
        assert is_closed_by_server(handshake_only)
        assert is_closed_by_server(kept_alive)
        blocker.rollback()  # the request in flight may now end

        status, headers, body = read_response(in_flight)
        assert status.startswith(b"HTTP/1.1 201 "), (status, body)
        assert orjson.loads(body)["merchant_reference"] == "stop"
        assert headers["connection"] == "close"
        assert is_closed_by_server(in_flight)
        exit_code = exit_code_within(server, EXIT_BOUND_SECONDS)
    assert exit_code == 0, server.output()[-3000:]


def test_a_request_still_sending_its_body_at_sigterm_gets_a_json_503_to_retry(
    server: ApiServer, api_key: str
) -> None:
    request_id = new_idempotency_key("shutdown")
    head = post_head(
        api_key,
        new_idempotency_key("shutdown"),
        "Expect: 100-continue",
        f"X-Request-Id: {request_id}",
    )
    with connect(server) as tls:
        tls.sendall(head)
        interim = tls.recv(65536)  # the app asks for the body: its request is being read
        assert interim == b"HTTP/1.1 100 Continue\r\n\r\n", interim
        tls.sendall(PAYMENT[:10])  # and no more
        server.terminate()
        status, headers, body = read_response(tls)
        assert is_closed_by_server(tls)
    assert status.startswith(b"HTTP/1.1 503 "), (status, body)
    assert orjson.loads(body) == {"detail": "server shutting down, try again"}
    assert headers["content-type"] == "application/json"
    assert headers["connection"] == "close"
    assert headers["retry-after"] == "1"
    for name, value in SECURITY_HEADERS.items():
        assert headers[name.lower()] == value
    (line,) = [r for r in server.wait_for_log_records(request_id) if r["message"] == "request"]
    assert line["status"] == 503
    assert line["_aws"]["CloudWatchMetrics"]
    assert line["ServerErrors"] == 1
    assert exit_code_within(server, EXIT_BOUND_SECONDS) == 0
    assert "Traceback" not in server.output(), server.output()[-3000:]
