"""Read deadlines of the real HTTPS server (http_protocol.BoundedHttpToolsProtocol): an idle TLS
connection, a head sent a byte at a time and a truncated body are closed by their deadline
(REQUEST_HEAD_TIMEOUT, REQUEST_BODY_TIMEOUT), while a slow client within them is served.

Every wait is for a state (the server's answer or its end of the connection); the socket
timeout only bounds a failure, at 3 x the deadline."""

import ssl
import time
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest
from payments_local_servers.api import ApiServer, AppDatabase
from pydantic import ValidationError

from tests.utils.api_server import read_response, read_until_closed, tls_connection
from tests.utils.payments import new_idempotency_key
from tests.utils.settings import server_env, settings_for

DEADLINE_SECONDS = 1.0
# Only bounds a failure: a connection still open then was not closed by its deadline.
GIVE_UP_SECONDS = 3 * DEADLINE_SECONDS
# Pace of the slow client, well within the deadline.
SLOW_PIECE_GAP_SECONDS = DEADLINE_SECONDS / 10
PAYMENT = orjson.dumps({"amount_minor": 100, "currency": "USD", "merchant_reference": "slow"})


@pytest.fixture(scope="module")
def server(
    app_database: AppDatabase, api_key: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ApiServer]:
    env = server_env(
        app_database,
        REQUEST_HEAD_TIMEOUT=str(DEADLINE_SECONDS),
        REQUEST_BODY_TIMEOUT=str(DEADLINE_SECONDS),
    )
    with ApiServer(env, tmp_path_factory.mktemp("read-deadlines")) as api:
        api.wait_until_ready()
        yield api


def connect(server: ApiServer) -> ssl.SSLSocket:
    return tls_connection(server, GIVE_UP_SECONDS)


def test_an_idle_tls_connection_is_closed_by_the_head_deadline(server: ApiServer) -> None:
    with connect(server) as tls:  # the handshake is done; no byte of a request follows
        begun = time.monotonic()
        assert read_until_closed(tls) == b""
        assert time.monotonic() - begun < GIVE_UP_SECONDS


def test_a_head_sent_a_byte_at_a_time_is_refused_with_408(server: ApiServer) -> None:
    head = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: " + b"a" * 4096
    with connect(server) as tls:
        begun = time.monotonic()
        tls.settimeout(SLOW_PIECE_GAP_SECONDS)
        answer = b""
        for byte in head:  # a byte per gap: the head is never done, nor too large
            try:
                tls.sendall(bytes([byte]))
                answer = tls.recv(65536)
            except TimeoutError:
                continue  # nothing from the server yet: the next byte
            except (ssl.SSLError, ConnectionError):
                break
            if answer or time.monotonic() - begun > GIVE_UP_SECONDS:
                break
        tls.settimeout(GIVE_UP_SECONDS)
        answer += read_until_closed(tls)
    assert answer.startswith(b"HTTP/1.1 408 "), answer
    assert answer.endswith(b'{"detail":"request head not received in time"}')
    assert b"\r\ncache-control: no-store\r\n" in answer.lower()


def test_a_truncated_body_is_refused_with_408_and_logged_as_408(
    server: ApiServer, api_key: str
) -> None:
    request_id = new_idempotency_key("slow-body")
    head = (
        f"POST /api/payments HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Request-Id: {request_id}\r\n"
        f"Authorization: Bearer {api_key}\r\nIdempotency-Key: {new_idempotency_key()}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(PAYMENT)}\r\n\r\n"
    ).encode()
    with connect(server) as tls:
        tls.sendall(head + PAYMENT[:10])  # and no more
        answer = read_until_closed(tls)
    assert answer.startswith(b"HTTP/1.1 408 "), answer
    assert answer.endswith(b'{"detail":"request body not received in time"}')
    lines = [r for r in server.wait_for_log_records(request_id) if r["message"] == "request"]
    assert [(line["status"], line["StatusClass"]) for line in lines] == [(408, "4xx")]
    assert lines[0]["RequestsRefused"] == 0


def test_a_slow_client_within_the_deadlines_is_served(server: ApiServer, api_key: str) -> None:
    head = (
        f"POST /api/payments HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
        f"Authorization: Bearer {api_key}\r\nIdempotency-Key: {new_idempotency_key()}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(PAYMENT)}\r\n\r\n"
    ).encode()
    with connect(server) as tls:
        for piece in (head[:20], head[20:60], head[60:], PAYMENT[:10], PAYMENT[10:]):
            tls.sendall(piece)
            time.sleep(SLOW_PIECE_GAP_SECONDS)  # the client's pace, not a wait for a state
        answer = read_until_closed(tls)
    assert answer.startswith(b"HTTP/1.1 201 "), answer


HEALTH_REQUEST = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"


def test_a_slow_head_on_a_kept_alive_connection_is_refused_with_408(server: ApiServer) -> None:
    with connect(server) as tls:
        tls.sendall(HEALTH_REQUEST)
        status, _, _ = read_response(tls)
        assert status.startswith(b"HTTP/1.1 200 ")
        tls.sendall(HEALTH_REQUEST[:20])  # the next request's head is begun, and never ended
        answer = read_until_closed(tls)
    assert answer.startswith(b"HTTP/1.1 408 "), answer
    assert answer.endswith(b'{"detail":"request head not received in time"}')


# Above uvicorn's own keep-alive timeout (5 s), below the API's (TIMEOUT_KEEP_ALIVE, 65 s).
LONG_HEAD_DEADLINE_SECONDS = 6.0


def test_a_kept_alive_connection_outlives_the_head_deadline_while_idle(
    app_database: AppDatabase, tmp_path: Path
) -> None:
    """The head deadline counts from a further request's first byte, not from the connection's
    start or its last response, and the keep-alive timeout (its default) is longer than it:
    a connection idle between requests, as the ALB keeps them, stays open. A connection made
    after the kept one's response, and closed by its head deadline, is the clock: the kept one
    has been idle longer than that deadline when it sends its next request."""
    env = server_env(app_database, REQUEST_HEAD_TIMEOUT=str(LONG_HEAD_DEADLINE_SECONDS))
    with ApiServer(env, tmp_path) as api:
        give_up = 3 * LONG_HEAD_DEADLINE_SECONDS
        with connect(api) as kept:
            kept.settimeout(give_up)
            kept.sendall(HEALTH_REQUEST)
            status, _, _ = read_response(kept)
            assert status.startswith(b"HTTP/1.1 200 ")
            with connect(api) as clock:  # made after the kept connection's response
                clock.settimeout(give_up)
                assert read_until_closed(clock) == b""  # closed by its head deadline
            kept.sendall(HEALTH_REQUEST)
            status, _, _ = read_response(kept)
            assert status.startswith(b"HTTP/1.1 200 ")


def test_the_server_log_has_no_error_from_the_deadlines(server: ApiServer) -> None:
    assert "Traceback" not in server.output(), server.output()[-3000:]


@pytest.mark.parametrize("key", ["request_head_timeout", "request_body_timeout"])
@pytest.mark.parametrize("value", [0, -1, 61])
def test_read_deadlines_are_positive_and_at_most_60_s(
    app_database: AppDatabase, key: str, value: float
) -> None:
    with pytest.raises(ValidationError, match=key):
        settings_for(app_database, **{key: value})
