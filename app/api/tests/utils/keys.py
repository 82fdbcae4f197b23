"""API keys for tests, made in process (the CLI itself has its own tests)."""

import asyncio

import psycopg
from payments_local_servers.postgres import DatabaseCredentials

from payments_api import store
from payments_api.keys import create_key

TEST_CLIENT = "test-client"


def new_api_key(database: DatabaseCredentials, client_id: str = TEST_CLIENT) -> str:
    """A key for `client_id` in `database` (the schema is created if needed)."""

    async def create() -> str:
        async with await psycopg.AsyncConnection.connect(
            database.conninfo(), autocommit=True
        ) as conn:
            await store.migrate(conn)
            return await create_key(conn, client_id)

    return asyncio.run(create())


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}
