"""SQL for payments and API keys: the queries. Every function takes an open psycopg async
connection (autocommit) and knows nothing of HTTP.

Each API operation is one statement, so one round trip (a retried POST, two): with autocommit
the statement is its own transaction, and psycopg sends Bind/Execute/Sync in one write (it
prepares a statement once a connection has run it five times).

The tables (api_keys, payments) are made by the versioned migrations, payments_api/migrations
(`python -m payments_api.migrate`, once per deploy), never here: the API and the key CLI log
in as roles that may read and insert, and not change the schema (payments_api.roles).
"""

from __future__ import annotations

import enum
import hashlib
import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple

from psycopg import AsyncConnection
from psycopg.rows import TupleRow

CLIENT_ID_PATTERN = r"^[a-z0-9][a-z0-9-]{0,62}$"
"""A client id: 1-63 of a-z 0-9 -, starting with a letter or digit (a name, never a secret).
The tables' CHECK constraints say the same (migrations/versions/0001_schema.py)."""

_COLUMNS = "id, amount_minor, currency, merchant_reference, status, created_at"

# The common case, a new key, is one round trip: the INSERT returns the new row. When the key
# exists (a retry, or a reused key), ON CONFLICT DO NOTHING returns nothing (after waiting for
# a concurrent insert of the same key to commit), and a second statement reads that row.
_INSERT = f"""
    INSERT INTO payments
        (client_id, idempotency_key, request_hash, amount_minor, currency, merchant_reference)
    VALUES (%s, %s, %s, %s, %s, %s)
    ON CONFLICT (client_id, idempotency_key) DO NOTHING
    RETURNING {_COLUMNS}
"""
_FIND_BY_KEY = f"""
    SELECT request_hash, {_COLUMNS} FROM payments WHERE client_id = %s AND idempotency_key = %s
"""


@dataclass(frozen=True, slots=True)
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


@dataclass(frozen=True, slots=True)
class CreateResult:
    outcome: Outcome
    payment: Payment


@dataclass(frozen=True, slots=True)
class StoredKey:
    """An API key's row: never the key, only its prefix and hash."""

    prefix: str
    client_id: str
    key_hash: bytes
    created_at: datetime
    revoked_at: datetime | None


# A connection of the pool (db.py): rows as tuples.
Conn = AsyncConnection[TupleRow]


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


async def create_payment(
    conn: Conn,
    *,
    client_id: str,
    idempotency_key: str,
    amount_minor: int,
    currency: str,
    merchant_reference: str,
) -> CreateResult:
    """Insert a payment once per (client, idempotency key).

    ON CONFLICT DO NOTHING makes a concurrent retry wait for the first insert's transaction
    and then insert nothing, so two requests can never both create a payment for one key. The
    loser compares request hashes with the winner's row: equal is a replay, different is a
    reused key. Idempotency keys are the client's own: another client's key is never seen.
    """
    body_hash = request_hash(amount_minor, currency, merchant_reference)
    cursor = await conn.execute(
        _INSERT,
        (client_id, idempotency_key, body_hash, amount_minor, currency, merchant_reference),
    )
    created = await cursor.fetchone()
    if created is not None:
        return CreateResult(Outcome.CREATED, Payment(*created))
    cursor = await conn.execute(_FIND_BY_KEY, (client_id, idempotency_key))
    row = await cursor.fetchone()
    if row is None:  # the row that blocked the insert is gone: payments are never deleted
        raise RuntimeError("payment for an existing idempotency key disappeared")
    stored_hash, *columns = row
    outcome = Outcome.REPLAYED if bytes(stored_hash) == body_hash else Outcome.KEY_REUSED
    return CreateResult(outcome, Payment(*columns))


async def get_payment(conn: Conn, client_id: str, payment_id: uuid.UUID) -> Payment | None:
    """The client's payment with this id; None for another client's payment as for none."""
    cursor = await conn.execute(
        f"SELECT {_COLUMNS} FROM payments WHERE id = %s AND client_id = %s",
        (payment_id, client_id),
    )
    row = await cursor.fetchone()
    return Payment(*row) if row is not None else None


async def list_payments(
    conn: Conn, client_id: str, *, limit: int, after: PageKey | None
) -> list[Payment]:
    """Up to `limit` of the client's payments, newest first, after `after` (keyset pages)."""
    if after is None:
        cursor = await conn.execute(
            f"""
            SELECT {_COLUMNS} FROM payments WHERE client_id = %s
            ORDER BY created_at DESC, id DESC LIMIT %s
            """,
            (client_id, limit),
        )
    else:
        cursor = await conn.execute(
            f"""
            SELECT {_COLUMNS} FROM payments
            WHERE client_id = %s AND (created_at, id) < (%s, %s)
            ORDER BY created_at DESC, id DESC
            LIMIT %s
            """,
            (client_id, after.created_at, after.id, limit),
        )
    return [Payment(*row) for row in await cursor.fetchall()]


_KEY_COLUMNS = "prefix, client_id, key_hash, created_at, revoked_at"


async def insert_api_key(conn: Conn, *, prefix: str, client_id: str, key_hash: bytes) -> StoredKey:
    cursor = await conn.execute(
        f"""
        INSERT INTO api_keys (prefix, client_id, key_hash) VALUES (%s, %s, %s)
        RETURNING {_KEY_COLUMNS}
        """,
        (prefix, client_id, key_hash),
    )
    row = await cursor.fetchone()
    assert row is not None
    return StoredKey(*row)


async def unrevoked_api_keys(conn: Conn) -> list[tuple[str, str, bytes]]:
    """(prefix, client id, key hash) of every key not revoked: what the API checks keys against
    (auth.ApiKeyVerifier loads them all, the table is small)."""
    cursor = await conn.execute(
        "SELECT prefix, client_id, key_hash FROM api_keys WHERE revoked_at IS NULL"
    )
    rows = await cursor.fetchall()
    return [(prefix, client_id, bytes(digest)) for prefix, client_id, digest in rows]


async def list_api_keys(conn: Conn) -> list[StoredKey]:
    cursor = await conn.execute(
        f"SELECT {_KEY_COLUMNS} FROM api_keys ORDER BY client_id, created_at, prefix"
    )
    return [StoredKey(*row) for row in await cursor.fetchall()]


async def revoke_api_key(conn: Conn, prefix: str) -> StoredKey | None:
    """Revoke the key (kept, for the audit trail); None if there is no such key. Revoking a
    revoked key keeps its first revocation time."""
    cursor = await conn.execute(
        f"""
        UPDATE api_keys SET revoked_at = coalesce(revoked_at, clock_timestamp())
        WHERE prefix = %s RETURNING {_KEY_COLUMNS}
        """,
        (prefix,),
    )
    row = await cursor.fetchone()
    return StoredKey(*row) if row is not None else None
