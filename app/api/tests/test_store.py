"""SQL functions against a real database: migration and the table's own rules."""

from collections.abc import Iterator

import psycopg
import pytest
from payments_local_servers.postgres import DatabaseCredentials

from payments_api import store


@pytest.fixture
def conn(
    isolated_database: DatabaseCredentials,
) -> Iterator[psycopg.Connection[tuple[object, ...]]]:
    with psycopg.connect(isolated_database.conninfo(), autocommit=True) as connection:
        store.migrate(connection)
        yield connection


def test_migration_can_run_again(conn: psycopg.Connection[tuple[object, ...]]) -> None:
    store.migrate(conn)
    assert conn.execute("SELECT to_regclass('payments') IS NOT NULL").fetchone() == (True,)


@pytest.mark.parametrize("amount", [0, -1, 10_000_000_001])
def test_table_rejects_amounts_outside_the_api_limits(
    conn: psycopg.Connection[tuple[object, ...]], amount: int
) -> None:
    with pytest.raises(psycopg.errors.CheckViolation):
        store.create_payment(
            conn, idempotency_key="k", amount_minor=amount, currency="USD", merchant_reference="r"
        )


def test_second_insert_with_the_same_key_and_body_is_a_replay(
    conn: psycopg.Connection[tuple[object, ...]],
) -> None:
    first = store.create_payment(
        conn, idempotency_key="k", amount_minor=5, currency="EUR", merchant_reference="r"
    )
    second = store.create_payment(
        conn, idempotency_key="k", amount_minor=5, currency="EUR", merchant_reference="r"
    )
    assert (first.outcome, second.outcome, second.payment) == (
        store.Outcome.CREATED,
        store.Outcome.REPLAYED,
        first.payment,
    )


def test_request_hash_depends_on_every_field() -> None:
    hashes = {
        store.request_hash(5, "EUR", "r"),
        store.request_hash(6, "EUR", "r"),
        store.request_hash(5, "USD", "r"),
        store.request_hash(5, "EUR", "s"),
    }
    assert len(hashes) == 4
