"""Per-client API keys: every payment route needs one, every failure looks the same, and a
client sees only its own payments and idempotency keys."""

import hashlib
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from fastapi.testclient import TestClient
from payments_local_servers.api import AppDatabase
from payments_local_servers.postgres import DatabaseCredentials, PostgresServer

from payments_api.auth import CHALLENGE, UNAUTHORIZED_DETAIL
from payments_api.main import create_app
from tests.utils.keys import bearer, new_api_key
from tests.utils.payments import idempotency_headers, new_idempotency_key, payment_body
from tests.utils.ready import wait_until_ready
from tests.utils.settings import settings_for

UNAUTHORIZED = {"detail": UNAUTHORIZED_DETAIL}


@pytest.fixture
def anonymous(isolated_database: AppDatabase) -> Iterator[TestClient]:
    """A client that sends no key by default; keys are read from the database every time."""
    with TestClient(create_app(settings_for(isolated_database, api_key_cache_seconds=0))) as client:
        yield wait_until_ready(client)


def payment_requests() -> list[tuple[str, str]]:
    """(method, path) of every operation under /api/payments in the app's OpenAPI document,
    with a made-up payment id."""
    credentials = DatabaseCredentials("h", 1, "d", "u", "p", Path("/nonexistent"))
    database = AppDatabase(credentials, credentials, credentials)
    paths = create_app(settings_for(database)).openapi()["paths"]
    return [
        (method.upper(), path.replace("{payment_id}", "4b1e5f1c-0d6f-4c55-9a3e-0a1b2c3d4e5f"))
        for path, operations in sorted(paths.items())
        if path.startswith("/api/payments")
        for method in sorted(operations)
    ]


def revoke(database: AppDatabase, key: str) -> None:
    """As the key CLI revokes: logged in as payments_keys_cli."""
    with psycopg.connect(database.keys.conninfo(), autocommit=True) as conn:
        conn.execute("UPDATE api_keys SET revoked_at = now() WHERE prefix = %s", (key[4:16],))


def test_every_payment_route_is_listed() -> None:
    assert len(payment_requests()) == 3  # POST and GET /api/payments, GET /api/payments/{id}


@pytest.mark.parametrize(("method", "path"), payment_requests())
def test_every_payment_route_needs_a_key(anonymous: TestClient, method: str, path: str) -> None:
    response = anonymous.request(method, path, json=payment_body(), headers=idempotency_headers())
    assert (response.status_code, response.json()) == (401, UNAUTHORIZED)
    assert response.headers["WWW-Authenticate"] == CHALLENGE


def test_every_kind_of_bad_key_gets_the_same_answer(
    anonymous: TestClient, isolated_database: AppDatabase
) -> None:
    valid = new_api_key(isolated_database)
    revoked = new_api_key(isolated_database)
    revoke(isolated_database, revoked)
    wrong_secret = valid[:-1] + ("A" if valid[-1] != "A" else "B")
    unknown_prefix = "pay_000000000000_" + valid[17:]
    attempts = {
        "no header": {},
        "not bearer": {"Authorization": f"Basic {valid}"},
        "empty bearer": {"Authorization": "Bearer "},
        "malformed": bearer("pay_123"),
        "unknown prefix": bearer(unknown_prefix),
        "wrong secret": bearer(wrong_secret),
        "revoked": bearer(revoked),
    }
    answers = {
        name: anonymous.get("/api/payments", headers=headers) for name, headers in attempts.items()
    }
    for name, response in answers.items():
        assert (response.status_code, response.json()) == (401, UNAUTHORIZED), name
        assert response.headers["WWW-Authenticate"] == CHALLENGE, name
    assert anonymous.get("/api/payments", headers=bearer(valid)).status_code == 200


@pytest.mark.parametrize(
    "body",
    [
        b'{"card_number": "x"}',  # a body the rules refuse
        b"x",  # not JSON (FastAPI parses a body before any dependency runs)
        b"\x8f",  # not UTF-8
        b'{"currency": "USD", "currency": "EUR"}',  # a repeated key
    ],
)
def test_authentication_comes_before_the_body_is_read(anonymous: TestClient, body: bytes) -> None:
    # An unauthenticated caller learns nothing about the body rules. Found by the fuzz run.
    response = anonymous.post(
        "/api/payments",
        content=body,
        headers={"Content-Type": "application/json", **idempotency_headers()},
    )
    assert (response.status_code, response.json()) == (401, UNAUTHORIZED)


@pytest.mark.parametrize("path", ["/healthz", "/readyz", "/api/healthz", "/api/readyz"])
def test_health_needs_no_key(anonymous: TestClient, path: str) -> None:
    assert anonymous.get(path).status_code == 200


def test_a_revoked_key_stops_working(anonymous: TestClient, isolated_database: AppDatabase) -> None:
    key = new_api_key(isolated_database)
    assert anonymous.get("/api/payments", headers=bearer(key)).status_code == 200
    revoke(isolated_database, key)
    assert anonymous.get("/api/payments", headers=bearer(key)).status_code == 401


def test_a_verified_key_is_trusted_for_the_cache_period(
    isolated_database: AppDatabase,
) -> None:
    key = new_api_key(isolated_database)
    settings = settings_for(isolated_database, api_key_cache_seconds=3600)
    with TestClient(create_app(settings), headers=bearer(key)) as client:
        wait_until_ready(client)
        assert client.get("/api/payments").status_code == 200
        revoke(isolated_database, key)
        # Documented: a revocation takes effect within API_KEY_CACHE_SECONDS.
        assert client.get("/api/payments").status_code == 200


def test_the_database_keeps_only_the_prefix_and_a_sha256_of_the_key(
    postgres: PostgresServer, isolated_database: AppDatabase
) -> None:
    key = new_api_key(isolated_database, "acme")
    with postgres.connect(isolated_database.master.dbname) as conn:
        rows = conn.execute("SELECT * FROM api_keys").fetchall()
    assert len(rows) == 1
    prefix, client_id, key_hash, *_ = rows[0]
    assert (prefix, client_id) == (key[4:16], "acme")
    assert isinstance(key_hash, bytes)
    assert key_hash == hashlib.sha256(key.encode()).digest()
    assert not any(key[17:] in str(value) for value in rows[0])


@pytest.fixture
def two_clients(
    anonymous: TestClient, isolated_database: AppDatabase
) -> tuple[dict[str, str], dict[str, str]]:
    return bearer(new_api_key(isolated_database, "acme")), bearer(
        new_api_key(isolated_database, "globex")
    )


def test_a_client_sees_only_its_own_payments(
    anonymous: TestClient, two_clients: tuple[dict[str, str], dict[str, str]]
) -> None:
    acme, globex = two_clients
    mine = anonymous.post(
        "/api/payments", json=payment_body(), headers={**acme, **idempotency_headers()}
    ).json()
    theirs = anonymous.post(
        "/api/payments", json=payment_body(), headers={**globex, **idempotency_headers()}
    ).json()
    assert anonymous.get(f"/api/payments/{mine['id']}", headers=acme).status_code == 200
    # Another client's payment is indistinguishable from one that does not exist.
    assert anonymous.get(f"/api/payments/{theirs['id']}", headers=acme).status_code == 404
    listed = anonymous.get("/api/payments", headers=acme).json()
    assert [payment["id"] for payment in listed["data"]] == [mine["id"]]


def test_idempotency_keys_do_not_cross_clients(
    anonymous: TestClient, two_clients: tuple[dict[str, str], dict[str, str]]
) -> None:
    # Before keys were per client, globex's request replayed acme's payment (or got a 409
    # that told it someone had used the key).
    acme, globex = two_clients
    key = {"Idempotency-Key": new_idempotency_key()}
    first = anonymous.post("/api/payments", json=payment_body(), headers={**acme, **key})
    other = anonymous.post(
        "/api/payments", json=payment_body(amount_minor=5), headers={**globex, **key}
    )
    same = anonymous.post("/api/payments", json=payment_body(), headers={**globex, **key})
    assert (first.status_code, other.status_code, same.status_code) == (201, 201, 409)
    assert "Idempotent-Replayed" not in other.headers
    assert first.json()["id"] != other.json()["id"]
