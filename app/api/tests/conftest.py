"""Session fixtures: one real PostgreSQL server over TLS, the app's database on it, an
in-process client (TestClient as a context manager, so the lifespan runs) and the real
HTTPS server in a subprocess.

The API is live before its database is usable: the lifespan opens the pool without waiting,
and the first connection and the migration happen in the background. The clients and the
server these fixtures hand out are ready (/readyz answered 200), so no test's first request
races the pool's first connection; tests of start-up build their own. The clients send an API
key of the `test-client` client (`api_key`, `isolated_api_key`); tests of authentication
send their own headers."""

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from payments_local_servers.api import ApiServer
from payments_local_servers.postgres import DatabaseCredentials, PostgresServer

from payments_api.main import create_app
from tests.utils.keys import bearer, new_api_key
from tests.utils.ready import wait_until_ready
from tests.utils.settings import server_env, settings_for


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    with PostgresServer() as server:
        yield server


@pytest.fixture(scope="session")
def app_database(postgres: PostgresServer) -> DatabaseCredentials:
    """The database most tests share; tests there use their own idempotency keys."""
    return postgres.create_database("payments_app")


@pytest.fixture
def isolated_database(postgres: PostgresServer) -> DatabaseCredentials:
    """A new role and database, for tests that count rows or change the role."""
    return postgres.create_database(f"payments_{uuid.uuid4().hex[:12]}")


@pytest.fixture(scope="session")
def api_key(app_database: DatabaseCredentials) -> str:
    return new_api_key(app_database)


@pytest.fixture
def isolated_api_key(isolated_database: DatabaseCredentials) -> str:
    return new_api_key(isolated_database)


@pytest.fixture(scope="session")
def client(app_database: DatabaseCredentials, api_key: str) -> Iterator[TestClient]:
    app = create_app(settings_for(app_database))
    with TestClient(app, headers=bearer(api_key)) as test_client:
        yield wait_until_ready(test_client)


@pytest.fixture
def isolated_client(
    isolated_database: DatabaseCredentials, isolated_api_key: str
) -> Iterator[TestClient]:
    app = create_app(settings_for(isolated_database))
    with TestClient(app, headers=bearer(isolated_api_key)) as test_client:
        yield wait_until_ready(test_client)


@pytest.fixture(scope="session")
def api_server(
    app_database: DatabaseCredentials, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ApiServer]:
    work_dir: Path = tmp_path_factory.mktemp("api-server")
    with ApiServer(server_env(app_database), work_dir) as server:
        server.wait_until_ready()
        yield server


@pytest.fixture
def anyio_backend() -> str:
    """Async tests (`pytest.mark.anyio`) run on asyncio, as the server does (uvloop is one)."""
    return "asyncio"
