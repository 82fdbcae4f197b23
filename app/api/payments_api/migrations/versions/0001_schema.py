"""The ledger's tables: api_keys, payments, and the index of each client's pages.

Exactly the schema the API created itself before migrations existed (store.py's
CREATE TABLE IF NOT EXISTS on its first connection), written as plain CREATE TABLE: Alembic
records that this revision ran, so it runs once per database.

No adoption path: a database made by that older code has the tables but no alembic_version
row, and this revision would fail on it ("relation already exists"). None was ever deployed,
so none exists; a database made locally that way is thrown away, not adopted.

Schema:
- `api_keys`: one row per key. The key itself is never stored: only its SHA-256 and its
  non-secret prefix, which finds the row. A client (client_id) may hold several keys, so a
  key can be replaced before the old one is revoked.
- `payments`: money as bigint minor units with CHECK > 0, owned by a client_id; an
  idempotency key is unique per client, with the SHA-256 of the request body beside it, and
  an index on (client_id, created_at, id) for each client's keyset pages, newest first.

Revision ID: 0001_schema
Revises: (none, the first)
"""

from __future__ import annotations

from alembic import op

revision = "0001_schema"
down_revision: str | None = None
branch_labels: str | None = None
depends_on: str | None = None

# store.CLIENT_ID_PATTERN as this revision writes it. A migration is history: if the pattern
# changes, a new revision alters the constraints; this text stays (a test compares the two).
CLIENT_ID_PATTERN = "^[a-z0-9][a-z0-9-]{0,62}$"

STATEMENTS = (
    f"""
    CREATE TABLE api_keys (
        prefix text PRIMARY KEY,
        client_id text NOT NULL,
        key_hash bytea NOT NULL,
        created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
        revoked_at timestamptz,
        CONSTRAINT api_keys_client_id_format CHECK (client_id ~ '{CLIENT_ID_PATTERN}'),
        CONSTRAINT api_keys_key_hash_sha256 CHECK (octet_length(key_hash) = 32)
    )
    """,
    f"""
    CREATE TABLE payments (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        client_id text NOT NULL,
        idempotency_key text NOT NULL,
        request_hash bytea NOT NULL,
        amount_minor bigint NOT NULL,
        currency char(3) NOT NULL,
        merchant_reference text NOT NULL,
        status text NOT NULL DEFAULT 'created',
        created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
        CONSTRAINT payments_client_idempotency_key_key UNIQUE (client_id, idempotency_key),
        CONSTRAINT payments_client_id_format CHECK (client_id ~ '{CLIENT_ID_PATTERN}'),
        CONSTRAINT payments_idempotency_key_length
            CHECK (char_length(idempotency_key) BETWEEN 1 AND 255),
        CONSTRAINT payments_amount_minor_positive CHECK (amount_minor > 0),
        CONSTRAINT payments_amount_minor_max CHECK (amount_minor <= 10000000000),
        CONSTRAINT payments_currency_format CHECK (currency ~ '^[A-Z]{{3}}$'),
        CONSTRAINT payments_merchant_reference_length
            CHECK (char_length(merchant_reference) BETWEEN 1 AND 64),
        CONSTRAINT payments_status_known CHECK (status IN ('created'))
    )
    """,
    """
    CREATE INDEX payments_client_created_at_id_idx
        ON payments (client_id, created_at DESC, id DESC)
    """,
)


def upgrade() -> None:
    for statement in STATEMENTS:
        op.execute(statement)


def downgrade() -> None:
    raise NotImplementedError("forward-only: restore a snapshot to go back")
