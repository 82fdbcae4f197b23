"""The key check against the task's snapshot of every unrevoked key (auth.ApiKeyVerifier): no
database query per request, known and unknown prefixes alike; the same 401 for an unknown
prefix as for a wrong secret while the database is down; a new or revoked key takes effect at
the next reload; concurrent requests share one load.

Counted, never timed: the pool's calls (`DatabasePool.run`) and the verifier's own clock,
driven by the test (no sleeping for time). Timing is bench/key_check_bench.py's."""

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import psycopg
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from payments_local_servers.api import AppDatabase
from payments_local_servers.postgres import PostgresServer

from payments_api import auth
from payments_api.auth import ApiKeyVerifier
from payments_api.db import DatabasePool
from payments_api.main import create_app
from tests.utils.databases import create_app_database
from tests.utils.keys import TEST_CLIENT, bearer, new_api_key
from tests.utils.ready import wait_until_ready
from tests.utils.settings import settings_for

LOAD = "unrevoked_api_keys"  # the name of the snapshot's query (store.unrevoked_api_keys)


class FakeClock:
    """The verifier's clock, moved by the test."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def pool_calls(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The name of the work of every `DatabasePool.run` call, in order."""
    calls: list[str] = []
    original = DatabasePool.run

    async def run(self: DatabasePool, work: Callable[[Any], Awaitable[Any]]) -> Any:
        calls.append(getattr(work, "__name__", repr(work)))
        return await original(self, work)

    monkeypatch.setattr(DatabasePool, "run", run)
    return calls


@pytest.fixture
def own_postgres() -> Iterator[PostgresServer]:
    """A server of the test's own, to stop."""
    with PostgresServer() as server:
        yield server


def wrong_secret(key: str) -> str:
    return key[:-1] + ("A" if key[-1] != "A" else "B")


def unknown_prefix(key: str) -> str:
    return "pay_000000000000_" + key[17:]


def revoke(database: AppDatabase, key: str) -> None:
    with psycopg.connect(database.keys.conninfo(), autocommit=True) as conn:
        conn.execute("UPDATE api_keys SET revoked_at = now() WHERE prefix = %s", (key[4:16],))


def app_with_clock(database: AppDatabase, cache_seconds: float, clock: FakeClock) -> FastAPI:
    app = create_app(settings_for(database, api_key_cache_seconds=cache_seconds))
    app.state.key_verifier = ApiKeyVerifier(cache_seconds, clock=clock)
    return app


def status(client: TestClient, key: str) -> int:
    return client.get("/api/payments", headers=bearer(key)).status_code


def test_no_database_query_per_request_once_the_keys_are_loaded(
    isolated_database: AppDatabase, pool_calls: list[str]
) -> None:
    key = new_api_key(isolated_database)
    with TestClient(create_app(settings_for(isolated_database))) as client:
        wait_until_ready(client)
        assert status(client, key) == 200
        pool_calls.clear()
        for _ in range(20):
            assert status(client, unknown_prefix(key)) == 401
            assert status(client, wrong_secret(key)) == 401
        assert pool_calls == []  # before: one key look-up per unknown prefix
        for _ in range(5):
            assert status(client, key) == 200
        assert len(pool_calls) == 5 and LOAD not in pool_calls  # the route's own query only


def test_during_an_outage_an_unknown_prefix_gets_401_as_a_wrong_secret_does(
    own_postgres: PostgresServer, pool_calls: list[str]
) -> None:
    database = create_app_database(own_postgres, "payments_keys_outage")
    key = new_api_key(database)
    settings = settings_for(database, api_key_cache_seconds=3600)
    with TestClient(create_app(settings)) as client:
        wait_until_ready(client)
        assert status(client, key) == 200
        own_postgres.stop()
        pool_calls.clear()
        # Before: 503 for the unknown prefix (its look-up needed the database), 401 for the
        # known one: an outage told a guessed prefix from a real one.
        assert status(client, unknown_prefix(key)) == 401
        assert status(client, wrong_secret(key)) == 401
        assert pool_calls == []
        assert status(client, key) == 503  # the route's own work needs the database


def test_a_failed_reload_keeps_the_snapshot_and_backs_off(
    own_postgres: PostgresServer, pool_calls: list[str]
) -> None:
    database = create_app_database(own_postgres, "payments_keys_stale")
    key = new_api_key(database)
    clock = FakeClock()
    with TestClient(app_with_clock(database, 60, clock)) as client:
        wait_until_ready(client)
        assert status(client, key) == 200
        own_postgres.stop()
        clock.advance(60)  # the snapshot is stale: the next request reloads, and that fails
        pool_calls.clear()
        assert status(client, unknown_prefix(key)) == 401
        assert pool_calls == [LOAD]
        # Within the back-off no request tries again: the stale snapshot answers at once.
        clock.advance(0.5)
        for _ in range(10):
            assert status(client, unknown_prefix(key)) == 401
            assert status(client, wrong_secret(key)) == 401
        assert pool_calls == [LOAD]
        clock.advance(1)  # past the back-off: one more attempt
        assert status(client, wrong_secret(key)) == 401
        assert pool_calls == [LOAD, LOAD]


def test_a_new_key_works_and_a_revoked_one_stops_at_the_next_reload(
    isolated_database: AppDatabase, pool_calls: list[str]
) -> None:
    old = new_api_key(isolated_database)
    clock = FakeClock()
    with TestClient(app_with_clock(isolated_database, 60, clock)) as client:
        wait_until_ready(client)
        assert status(client, old) == 200
        new = new_api_key(isolated_database)
        revoke(isolated_database, old)
        clock.advance(59.9)  # the snapshot is still fresh: neither change is seen yet
        assert (status(client, new), status(client, old)) == (401, 200)
        clock.advance(0.1)
        pool_calls.clear()
        assert (status(client, new), status(client, old)) == (200, 401)
        assert pool_calls.count(LOAD) == 1


@pytest.mark.anyio
async def test_concurrent_requests_at_a_stale_snapshot_share_one_load(
    isolated_database: AppDatabase, isolated_api_key: str, pool_calls: list[str]
) -> None:
    pool = DatabasePool(settings_for(isolated_database))
    await pool.open()
    try:
        verifier = ApiKeyVerifier(0)  # every snapshot is stale at once
        clients = await asyncio.gather(
            *(verifier.client_for(pool, isolated_api_key) for _ in range(20))
        )
    finally:
        await pool.close()
    assert clients == [TEST_CLIENT] * 20
    assert len(pool_calls) == 1  # before: one look-up per request


def test_past_the_bound_every_key_still_works_and_each_load_warns(
    isolated_database: AppDatabase,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setattr(auth, "MAX_KEYS", 1)
    keys = [new_api_key(isolated_database), new_api_key(isolated_database)]
    with (
        caplog.at_level(logging.WARNING, logger=auth.__name__),
        TestClient(create_app(settings_for(isolated_database))) as client,
    ):
        wait_until_ready(client)
        assert [status(client, key) for key in keys] == [200, 200]
    assert any("2 unrevoked API keys, past the 1" in r.getMessage() for r in caplog.records)
