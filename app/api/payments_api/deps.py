"""Annotated dependencies for route handlers: PoolDep (the database) and SettingsDep.

Both are `async def`: they only read state, and FastAPI runs sync dependencies in the
worker-thread pool (40 threads), where requests waiting for the database can hold every
thread. /healthz depends on SettingsDep, so a sync dependency would queue liveness behind
database work."""

from typing import Annotated

from fastapi import Depends, Request

from payments_api.db import DatabasePool
from payments_api.settings import Settings


def pool_of(request: Request) -> DatabasePool:
    """The pool the lifespan opened (lifespan state, so TestClient must be a context manager).
    The payment routes call it directly (see auth.caller_of for why)."""
    pool: DatabasePool = request.state.pool
    return pool


async def get_pool(request: Request) -> DatabasePool:
    return pool_of(request)


async def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


PoolDep = Annotated[DatabasePool, Depends(get_pool)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
