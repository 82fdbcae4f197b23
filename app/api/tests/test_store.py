"""SQL functions against a real, migrated database, each as the role that runs it in
production (the API's payments_api, the key CLI's payments_keys_cli): the tables' own rules,
and every query scoped to its client."""

import uuid
from collections.abc import AsyncIterator

import psycopg
import pytest
from payments_local_servers.api import AppDatabase

from payments_api import store

pytestmark = pytest.mark.anyio

Conn = psycopg.AsyncConnection[tuple[object, ...]]


@pytest.fixture
async def conn(isolated_database: AppDatabase) -> AsyncIterator[Conn]:
    """The API's login."""
    async with await psycopg.AsyncConnection.connect(
        isolated_database.api.conninfo(), autocommit=True
    ) as connection:
        yield connection


@pytest.fixture
async def keys_conn(isolated_database: AppDatabase) -> AsyncIterator[Conn]:
    """The key CLI's login."""
    async with await psycopg.AsyncConnection.connect(
        isolated_database.keys.conninfo(), autocommit=True
    ) as connection:
        yield connection


async def create(
    conn: Conn, client_id: str = "acme", key: str = "k", **fields: object
) -> store.CreateResult:
    values: dict[str, object] = {"amount_minor": 5, "currency": "EUR", "merchant_reference": "r"}
    values.update(fields)
    return await store.create_payment(conn, client_id=client_id, idempotency_key=key, **values)  # type: ignore[arg-type]


@pytest.mark.parametrize("amount", [0, -1, 10_000_000_001])
async def test_table_rejects_amounts_outside_the_api_limits(conn: Conn, amount: int) -> None:
    with pytest.raises(psycopg.errors.CheckViolation):
        await create(conn, amount_minor=amount)


async def test_second_insert_with_the_same_key_and_body_is_a_replay(conn: Conn) -> None:
    first = await create(conn)
    second = await create(conn)
    assert (first.outcome, second.outcome, second.payment) == (
        store.Outcome.CREATED,
        store.Outcome.REPLAYED,
        first.payment,
    )


async def test_same_key_with_another_body_is_a_reused_key(conn: Conn) -> None:
    first = await create(conn)
    second = await create(conn, amount_minor=6)
    assert (second.outcome, second.payment) == (store.Outcome.KEY_REUSED, first.payment)


async def test_idempotency_keys_belong_to_their_client(conn: Conn) -> None:
    mine = await create(conn, client_id="acme")
    theirs = await create(conn, client_id="globex")
    assert (mine.outcome, theirs.outcome) == (store.Outcome.CREATED, store.Outcome.CREATED)
    assert mine.payment.id != theirs.payment.id


async def test_reads_see_only_the_clients_own_payments(conn: Conn) -> None:
    mine = (await create(conn, client_id="acme")).payment
    theirs = (await create(conn, client_id="globex")).payment
    assert await store.get_payment(conn, "acme", mine.id) == mine
    assert await store.get_payment(conn, "acme", theirs.id) is None
    assert await store.get_payment(conn, "acme", uuid.uuid4()) is None
    assert await store.list_payments(conn, "acme", limit=10, after=None) == [mine]


@pytest.mark.parametrize("client_id", ["", "Acme", "-acme", "acme corp", "a" * 64])
async def test_tables_reject_malformed_client_ids(conn: Conn, client_id: str) -> None:
    with pytest.raises(psycopg.errors.CheckViolation):
        await create(conn, client_id=client_id)


def test_request_hash_depends_on_every_field() -> None:
    hashes = {
        store.request_hash(5, "EUR", "r"),
        store.request_hash(6, "EUR", "r"),
        store.request_hash(5, "USD", "r"),
        store.request_hash(5, "EUR", "s"),
    }
    assert len(hashes) == 4


async def test_api_keys_are_loaded_listed_and_revoked(keys_conn: Conn, conn: Conn) -> None:
    stored = await store.insert_api_key(
        keys_conn, prefix="0123456789ab", client_id="acme", key_hash=bytes(32)
    )
    # As the API loads them: every key not revoked, prefix, client and hash.
    assert await store.unrevoked_api_keys(conn) == [(stored.prefix, "acme", bytes(32))]
    revoked = await store.revoke_api_key(keys_conn, "0123456789ab")
    assert revoked is not None and revoked.revoked_at is not None
    again = await store.revoke_api_key(keys_conn, "0123456789ab")
    assert again is not None and again.revoked_at == revoked.revoked_at  # the first time stays
    assert await store.revoke_api_key(keys_conn, "ba9876543210") is None
    assert await store.list_api_keys(keys_conn) == [revoked]
    assert await store.unrevoked_api_keys(conn) == []


async def test_api_keys_table_keeps_only_a_sha256(keys_conn: Conn) -> None:
    with pytest.raises(psycopg.errors.CheckViolation):
        await store.insert_api_key(
            keys_conn, prefix="0123456789ab", client_id="acme", key_hash=b"key"
        )
