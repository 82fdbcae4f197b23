"""SQL for payments: the schema migration and the queries. Every function takes an open
psycopg connection and knows nothing of HTTP.

Creates (idempotently) the `payments` table: money as bigint minor units with CHECK > 0,
a UNIQUE idempotency_key with the SHA-256 of the request body beside it, and an index on
(created_at, id) for keyset pagination, newest first.
"""

from __future__ import annotations

import enum
import hashlib
import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

from psycopg import Connection
from psycopg.rows import class_row

# Any fixed number: serialises the migration between tasks that start at the same time
# (concurrent CREATE TABLE IF NOT EXISTS can otherwise fail on the catalog's unique index).
_MIGRATION_LOCK_ID = 4_725_301_001

_MIGRATION = (
    """
    CREATE TABLE IF NOT EXISTS payments (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        idempotency_key text NOT NULL,
        request_hash bytea NOT NULL,
        amount_minor bigint NOT NULL,
        currency char(3) NOT NULL,
        merchant_reference text NOT NULL,
        status text NOT NULL DEFAULT 'created',
        created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
        CONSTRAINT payments_idempotency_key_key UNIQUE (idempotency_key),
        CONSTRAINT payments_idempotency_key_length
            CHECK (char_length(idempotency_key) BETWEEN 1 AND 255),
        CONSTRAINT payments_amount_minor_positive CHECK (amount_minor > 0),
        CONSTRAINT payments_amount_minor_max CHECK (amount_minor <= 10000000000),
        CONSTRAINT payments_currency_format CHECK (currency ~ '^[A-Z]{3}$'),
        CONSTRAINT payments_merchant_reference_length
            CHECK (char_length(merchant_reference) BETWEEN 1 AND 64),
        CONSTRAINT payments_status_known CHECK (status IN ('created'))
    )
    """,
    """
    CREATE INDEX IF NOT EXISTS payments_created_at_id_idx
        ON payments (created_at DESC, id DESC)
    """,
)

_COLUMNS = "id, amount_minor, currency, merchant_reference, status, created_at"


@dataclass(frozen=True)
class Payment:
    id: uuid.UUID
    amount_minor: int
    currency: str
    merchant_reference: str
    status: str
    created_at: datetime


class PageKey(NamedTuple):
    """Position of a payment in the newest-first order; a page starts after it."""

    created_at: datetime
    id: uuid.UUID


class Outcome(enum.Enum):
    CREATED = "created"
    REPLAYED = "replayed"
    KEY_REUSED = "key_reused"


@dataclass(frozen=True)
class CreateResult:
    outcome: Outcome
    payment: Payment


def migrate(conn: Connection[Any]) -> None:
    """Create the schema if it does not exist; safe to run from many tasks at once."""
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (_MIGRATION_LOCK_ID,))
        for statement in _MIGRATION:
            conn.execute(statement)


def request_hash(amount_minor: int, currency: str, merchant_reference: str) -> bytes:
    """SHA-256 of the canonical request body: same fields, same hash, whatever the spacing."""
    canonical = json.dumps(
        {
            "amount_minor": amount_minor,
            "currency": currency,
            "merchant_reference": merchant_reference,
        },
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )
    return hashlib.sha256(canonical.encode()).digest()


def create_payment(
    conn: Connection[Any],
    *,
    idempotency_key: str,
    amount_minor: int,
    currency: str,
    merchant_reference: str,
) -> CreateResult:
    """Insert a payment once per idempotency key.

    ON CONFLICT DO NOTHING makes a concurrent retry wait for the first insert's transaction
    and then insert nothing, so two requests can never both create a payment for one key. The
    loser reads the winner's row and compares request hashes: equal is a replay, different
    is a reused key.
    """
    body_hash = request_hash(amount_minor, currency, merchant_reference)
    with conn.cursor(row_factory=class_row(Payment)) as cur:
        cur.execute(
            f"""
            INSERT INTO payments
                (idempotency_key, request_hash, amount_minor, currency, merchant_reference)
            VALUES (%s, %s, %s, %s, %s)
            ON CONFLICT (idempotency_key) DO NOTHING
            RETURNING {_COLUMNS}
            """,
            (idempotency_key, body_hash, amount_minor, currency, merchant_reference),
        )
        created = cur.fetchone()
        if created is not None:
            return CreateResult(Outcome.CREATED, created)

    with conn.cursor() as cur:
        cur.execute(
            f"SELECT request_hash, {_COLUMNS} FROM payments WHERE idempotency_key = %s",
            (idempotency_key,),
        )
        row = cur.fetchone()
    if row is None:  # the row that blocked the insert is gone: payments are never deleted
        raise RuntimeError("payment for an existing idempotency key disappeared")
    stored_hash, *columns = row
    existing = Payment(*columns)
    outcome = Outcome.REPLAYED if bytes(stored_hash) == body_hash else Outcome.KEY_REUSED
    return CreateResult(outcome, existing)


def get_payment(conn: Connection[Any], payment_id: uuid.UUID) -> Payment | None:
    with conn.cursor(row_factory=class_row(Payment)) as cur:
        cur.execute(f"SELECT {_COLUMNS} FROM payments WHERE id = %s", (payment_id,))
        return cur.fetchone()


def list_payments(conn: Connection[Any], *, limit: int, after: PageKey | None) -> list[Payment]:
    """Up to `limit` payments, newest first, starting after `after` (keyset pagination)."""
    with conn.cursor(row_factory=class_row(Payment)) as cur:
        if after is None:
            cur.execute(
                f"SELECT {_COLUMNS} FROM payments ORDER BY created_at DESC, id DESC LIMIT %s",
                (limit,),
            )
        else:
            cur.execute(
                f"""
                SELECT {_COLUMNS} FROM payments
                WHERE (created_at, id) < (%s, %s)
                ORDER BY created_at DESC, id DESC
                LIMIT %s
                """,
                (after.created_at, after.id, limit),
            )
        return cur.fetchall()
