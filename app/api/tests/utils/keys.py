"""API keys for tests, made in process (the CLI itself has its own tests), as the key CLI's
login (payments_keys_cli) inserts them in production."""

import asyncio

import psycopg
from payments_local_servers.api import AppDatabase

from payments_api.cli.api_keys import create_key

TEST_CLIENT = "test-client"


def new_api_key(database: AppDatabase, client_id: str = TEST_CLIENT) -> str:
    """A key for `client_id` in `database`, inserted as payments_keys_cli."""

    async def create() -> str:
        async with await psycopg.AsyncConnection.connect(
            database.keys.conninfo(), autocommit=True
        ) as conn:
            return await create_key(conn, client_id)

    return asyncio.run(create())


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}
