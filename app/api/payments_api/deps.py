"""Annotated dependencies for route handlers: PoolDep (the database) and SettingsDep."""

from typing import Annotated

from fastapi import Depends, Request

from payments_api.db import DatabasePool
from payments_api.settings import Settings


def get_pool(request: Request) -> DatabasePool:
    """The pool the lifespan opened (lifespan state, so TestClient must be a context manager)."""
    pool: DatabasePool = request.state.pool
    return pool


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


PoolDep = Annotated[DatabasePool, Depends(get_pool)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
