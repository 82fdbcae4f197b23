"""`python -m payments_api.migrate`, run as the deploy's one-off task runs it: a process with
the master user's settings and the role secrets' logins in its environment.

Its logins belong to the whole server: the tests that give them passwords use a server of
their own (the shared one's payments_api serves every other test), which logs every
statement, so that what reaches the server's log can be read."""

import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import psycopg
import pytest
from payments_local_servers.postgres import DatabaseCredentials, PostgresServer

from payments_api import migrate
from payments_api.migrations import current_version, revisions
from payments_api.roles import APP_LOGIN_USERS, KEYS_LOGIN_USERS
from tests.utils.databases import create_unmigrated_database, libpq_params
from tests.utils.migrate_cli import run_migrate

HEAD = revisions()[-1]
LOGINS = (*APP_LOGIN_USERS, *KEYS_LOGIN_USERS)
MIGRATED_FROM_EMPTY = [
    "schema version before: none (an empty database)",
    f"schema version after: {HEAD}",
]


def new_name() -> str:
    return f"payments_{uuid.uuid4().hex[:12]}"


def logins_env(
    api_user: str, api_password: str, keys_user: str, keys_password: str
) -> dict[str, str]:
    return {
        "APP_DB_USER": api_user,
        "APP_DB_PASSWORD": api_password,
        "KEYS_DB_USER": keys_user,
        "KEYS_DB_PASSWORD": keys_password,
    }


def logs_in(database: DatabaseCredentials, user: str, password: str) -> bool:
    try:
        psycopg.connect(database.as_user(user, password).conninfo()).close()
    except psycopg.OperationalError:
        return False
    return True


def stored_passwords(server: PostgresServer) -> dict[str, Any]:
    """Each login's stored password (a SCRAM verifier, or None)."""
    with server.connect() as conn:
        rows = conn.execute(
            "SELECT rolname, rolpassword FROM pg_authid WHERE rolname = ANY(%s)", (list(LOGINS),)
        ).fetchall()
    return {str(name): password for name, password in rows}


@pytest.fixture
def own_server() -> Iterator[PostgresServer]:
    """A server of this test's, with no role of the API's yet, logging every statement."""
    with PostgresServer() as server:
        with server.connect() as admin:
            admin.execute("ALTER SYSTEM SET log_statement = 'all'")
            admin.execute("SELECT pg_reload_conf()")
        yield server


def test_the_logins_get_their_secrets_passwords_and_keep_them_and_none_is_logged(
    own_server: PostgresServer,
) -> None:
    master = create_unmigrated_database(own_server, new_name())
    log_start = own_server.log_path.stat().st_size

    # Migrations alone: the logins exist, without a password, so none can log in.
    alone = run_migrate(master.env())
    assert (alone.returncode, alone.stderr) == (0, ""), alone
    assert alone.stdout.splitlines() == MIGRATED_FROM_EMPTY
    assert stored_passwords(own_server) == dict.fromkeys(LOGINS)
    assert not logs_in(master, "payments_api", "any-password")

    # With the secrets' logins: each password set (refused at first), and the login works.
    first = logins_env("payments_api", "api-secret-1", "payments_keys_cli", "keys-secret-1")
    given = run_migrate({**master.env(), **first})
    assert (given.returncode, given.stderr) == (0, ""), given
    assert given.stdout.splitlines() == [
        f"schema version before: {HEAD}",
        f"schema version after: {HEAD}",
        "login payments_api: password set from APP_DB_USER's secret; logs in",
        "login payments_keys_cli: password set from KEYS_DB_USER's secret; logs in",
    ]
    assert logs_in(master, "payments_api", "api-secret-1")
    assert logs_in(master, "payments_keys_cli", "keys-secret-1")
    stored = stored_passwords(own_server)
    assert str(stored["payments_api"]).startswith("SCRAM-SHA-256$")
    assert stored["payments_api_clone"] is None  # not given: the rotation's to set

    # Again, as the next deploy: the logins work, so they are left alone (same verifier).
    again = run_migrate({**master.env(), **first})
    assert again.returncode == 0, again
    assert again.stdout.splitlines()[2:] == [
        "login payments_api: logs in; left as it is",
        "login payments_keys_cli: logs in; left as it is",
    ]
    assert stored_passwords(own_server) == stored

    # A secret that holds another user of the group (the rotation moved to the _clone) and
    # another password: that user's password is set, the first user's stays as it was.
    rotated = logins_env("payments_api_clone", "api-secret-2", "payments_keys_cli", "keys-secret-1")
    clone = run_migrate({**master.env(), **rotated})
    assert clone.returncode == 0, clone
    assert clone.stdout.splitlines()[2] == (
        "login payments_api_clone: password set from APP_DB_USER's secret; logs in"
    )
    assert logs_in(master, "payments_api_clone", "api-secret-2")
    assert logs_in(master, "payments_api", "api-secret-1")

    # No password reached the server's log, nor the command's output: the statements that
    # set them are there, with SCRAM verifiers.
    server_log = own_server.log_path.read_text()[log_start:]
    assert server_log.count("ALTER ROLE") == 3
    assert "PASSWORD 'SCRAM-SHA-256$" in server_log
    outputs = "".join(run.stdout + run.stderr for run in (alone, given, again, clone))
    for secret in ("api-secret-1", "keys-secret-1", "api-secret-2", master.password):
        assert secret not in server_log
        assert secret not in outputs


def test_migrators_of_two_databases_create_the_servers_roles_at_once(
    own_server: PostgresServer,
) -> None:
    """Roles belong to the server, the advisory lock to a database: two databases migrated at
    once both create the roles, and neither fails for it."""
    databases = [create_unmigrated_database(own_server, new_name()) for _ in range(2)]
    with ThreadPoolExecutor(2) as pool:
        runs = list(pool.map(lambda database: run_migrate(database.env()), databases))
    assert [(run.returncode, run.stderr) for run in runs] == [(0, ""), (0, "")]
    for database in databases:
        assert current_version(database.conninfo()) == HEAD


# --- Refusals, on the shared server (nothing is changed there) ----------------------------------


@pytest.fixture
def unmigrated(postgres: PostgresServer) -> DatabaseCredentials:
    return create_unmigrated_database(postgres, new_name())


@pytest.mark.parametrize(
    ("variables", "complaint"),
    [
        (
            {"APP_DB_USER": "payments_keys_cli", "APP_DB_PASSWORD": "p"},
            "APP_DB_USER is 'payments_keys_cli', not a login of payments_app: expected one of "
            "payments_api, payments_api_clone",
        ),
        (
            {"KEYS_DB_USER": "postgres", "KEYS_DB_PASSWORD": "p"},
            "KEYS_DB_USER is 'postgres', not a login of payments_keys",
        ),
        ({"APP_DB_USER": "payments_api"}, "APP_DB_PASSWORD is missing"),
        ({"KEYS_DB_PASSWORD": "p"}, "KEYS_DB_USER is missing"),
    ],
)
def test_a_login_outside_its_group_or_half_given_is_refused_before_anything_is_done(
    unmigrated: DatabaseCredentials, variables: dict[str, str], complaint: str
) -> None:
    refused = run_migrate({**unmigrated.env(), **variables})
    assert refused.returncode == migrate.EXIT_USAGE
    assert refused.stdout == ""
    assert refused.stderr.startswith(f"migrate: {complaint}")
    assert refused.stderr.count("\n") == 1
    assert current_version(unmigrated.conninfo()) is None


def test_without_a_master_connection_it_says_what_is_missing() -> None:
    refused = run_migrate({"DB_HOST": "localhost"})
    assert refused.returncode == migrate.EXIT_USAGE
    assert refused.stderr.startswith("migrate: the master connection: ")
    assert "missing: DB_NAME, DB_USER, DB_PASSWORD" in refused.stderr
    assert refused.stderr.count("\n") == 1


def test_a_refused_master_password_fails_in_one_line_without_it(
    unmigrated: DatabaseCredentials,
) -> None:
    wrong = "wrong-master-password-7f3a"
    failed = run_migrate({**unmigrated.env(), "DB_PASSWORD": wrong})
    assert failed.returncode == migrate.EXIT_FAILED
    assert failed.stderr.startswith("migrate: could not connect")
    assert "password authentication failed" in failed.stderr
    assert failed.stderr.count("\n") == 1
    assert wrong not in failed.stderr + failed.stdout


def test_the_master_connection_may_be_a_url(unmigrated: DatabaseCredentials) -> None:
    migrated = run_migrate({"DATABASE_URL": unmigrated.url})
    assert (migrated.returncode, migrated.stderr) == (0, ""), migrated
    assert migrated.stdout.splitlines() == MIGRATED_FROM_EMPTY
    assert unmigrated.password not in migrated.stdout


def test_the_verifier_is_what_the_server_accepts_for_the_password(
    postgres: PostgresServer, unmigrated: DatabaseCredentials
) -> None:
    """libpq computes it client-side; the server takes it as the password's."""
    with psycopg.connect(unmigrated.conninfo()) as conn:
        verifier = migrate.scram_verifier(conn, "payments_probe", "probe-password")
    assert verifier.startswith("SCRAM-SHA-256$4096:")
    assert "probe-password" not in verifier
    with postgres.connect() as admin:
        admin.execute("DROP ROLE IF EXISTS payments_probe")
        admin.execute(f"CREATE ROLE payments_probe LOGIN PASSWORD '{verifier}'")
    assert logs_in(unmigrated, "payments_probe", "probe-password")
    assert not logs_in(unmigrated, "payments_probe", "other-password")


def test_the_login_check_takes_the_masters_host_and_tls(unmigrated: DatabaseCredentials) -> None:
    login = migrate.Login("APP_DB_USER", "payments_app", "payments_api", "not-its-password")
    params = {**libpq_params(unmigrated), "sslrootcert": "/nonexistent/ca.pem"}
    with pytest.raises(migrate.LoginError, match="root certificate file"):
        migrate.ensure_login(params, login)
    assert "not-its-password" not in repr(login)
