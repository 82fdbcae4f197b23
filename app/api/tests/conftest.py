"""Session fixtures: one real PostgreSQL server over TLS, the app's database on it, an
in-process client (TestClient as a context manager, so the lifespan runs) and the real
HTTPS server in a subprocess.

Every database is made as a deploy makes it (tests/utils/databases.py): migrated to the head
by its owner, a superuser (the master user), and the API's login payments_api and the key
CLI's payments_keys_cli set up. The whole suite runs as those roles: `settings_for` and
`server_env` connect the API as payments_api, `new_api_key` inserts keys as
payments_keys_cli. The logins belong to the server, with one password each for all of its
databases; a test that changes its login's password or LOGIN, or ends its sessions, takes
`own_login_database`, whose API login is a role of its own with payments_api's rights. The
migrations' own tests take `empty_database` (not migrated) or `migrated` (migrated to the head
by its master user, no login set up).

The API is live before its database is usable: the lifespan opens the pool without waiting,
and the first connection happens in the background. The clients and the
server these fixtures hand out are ready (/readyz answered 200), so no test's first request
races the pool's first connection; tests of start-up build their own. The clients send an API
key of the `test-client` client (`api_key`, `isolated_api_key`); tests of authentication
send their own headers."""

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from payments_local_servers.api import ApiServer, AppDatabase
from payments_local_servers.postgres import DatabaseCredentials, PostgresServer

from payments_api.main import create_app
from payments_api.migrations import upgrade
from tests.utils.databases import (
    create_app_database,
    create_unmigrated_database,
    with_own_api_login,
)
from tests.utils.keys import bearer, new_api_key
from tests.utils.ready import wait_until_ready
from tests.utils.settings import server_env, settings_for


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    with PostgresServer() as server:
        yield server


@pytest.fixture(scope="session")
def app_database(postgres: PostgresServer) -> AppDatabase:
    """The database most tests share; tests there use their own idempotency keys."""
    return create_app_database(postgres, "payments_shared")


def _new_name() -> str:
    return f"payments_{uuid.uuid4().hex[:12]}"


@pytest.fixture
def isolated_database(postgres: PostgresServer) -> AppDatabase:
    """A new database of its own, for tests that count rows."""
    return create_app_database(postgres, _new_name())


@pytest.fixture
def own_login_database(postgres: PostgresServer) -> AppDatabase:
    """A new database whose API login is a role of its own (a member of payments_app, as
    payments_api is), for tests that change the login's password or LOGIN, or end its
    sessions."""
    return with_own_api_login(postgres, create_app_database(postgres, _new_name()))


@pytest.fixture
def empty_database(postgres: PostgresServer) -> DatabaseCredentials:
    """A new database, not migrated: its master user's credentials."""
    return create_unmigrated_database(postgres, _new_name())


@pytest.fixture
def migrated(empty_database: DatabaseCredentials) -> DatabaseCredentials:
    """`empty_database` migrated to the head by its master user (no login set up)."""
    upgrade(empty_database.conninfo())
    return empty_database


@pytest.fixture(scope="session")
def api_key(app_database: AppDatabase) -> str:
    return new_api_key(app_database)


@pytest.fixture
def isolated_api_key(isolated_database: AppDatabase) -> str:
    return new_api_key(isolated_database)


@pytest.fixture(scope="session")
def client(app_database: AppDatabase, api_key: str) -> Iterator[TestClient]:
    app = create_app(settings_for(app_database))
    with TestClient(app, headers=bearer(api_key)) as test_client:
        yield wait_until_ready(test_client)


@pytest.fixture
def isolated_client(isolated_database: AppDatabase, isolated_api_key: str) -> Iterator[TestClient]:
    app = create_app(settings_for(isolated_database))
    with TestClient(app, headers=bearer(isolated_api_key)) as test_client:
        yield wait_until_ready(test_client)


@pytest.fixture(scope="session")
def api_server(
    app_database: AppDatabase, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ApiServer]:
    work_dir: Path = tmp_path_factory.mktemp("api-server")
    # Tests make keys while this server runs (the schema fuzz run, after other tests started
    # it): it reloads the keys for every request, so a key works as soon as it is made.
    env = server_env(app_database, API_KEY_CACHE_SECONDS="0")
    with ApiServer(env, work_dir) as server:
        server.wait_until_ready()
        yield server


@pytest.fixture
def anyio_backend() -> str:
    """Async tests (`pytest.mark.anyio`) run on asyncio, as the server does (uvloop is one)."""
    return "asyncio"
