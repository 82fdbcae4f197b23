"""Least privilege, as the migrations grant it (payments_api.roles, 0002_roles): what each
login may do, tried with real statements, and the grant table the catalogs hold for every
login user, the rotation's _clone users included."""

from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from payments_local_servers import api as local_api
from payments_local_servers.api import AppDatabase
from payments_local_servers.postgres import DatabaseCredentials, PostgresServer
from psycopg import sql

from payments_api.roles import (
    APP_GROUP,
    APP_LOGIN_USERS,
    GROUPS,
    KEYS_GROUP,
    KEYS_LOGIN_USERS,
)
from tests.utils.databases import create_app_database

Conn = psycopg.Connection[tuple[Any, ...]]
KEY_ROW = "('0123456789ab', 'acme', sha256('k'::bytea))"
PAYMENT_ROW = "('acme', 'k-1', sha256('b'::bytea), 100, 'EUR', 'order-1')"
PAYMENT_COLUMNS = (
    "(client_id, idempotency_key, request_hash, amount_minor, currency, merchant_reference)"
)

# Every right on the two tables, for every login: what the groups hold, nothing more.
TABLE_PRIVILEGES = ("SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE", "REFERENCES", "TRIGGER")
GRANTED = {
    APP_GROUP: {"payments": {"SELECT", "INSERT"}, "api_keys": {"SELECT"}},
    KEYS_GROUP: {"payments": set(), "api_keys": {"SELECT", "INSERT"}},
}
API_KEYS_COLUMNS = ("prefix", "client_id", "key_hash", "created_at", "revoked_at")
UPDATABLE_COLUMNS = {APP_GROUP: set(), KEYS_GROUP: {"revoked_at"}}


def refused(conn: Conn, statement: str) -> None:
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        conn.execute(statement)


def as_login(database: AppDatabase, login: str, postgres: PostgresServer) -> DatabaseCredentials:
    """`database` reached as `login`, with this server's password for it (set here: the
    _clone users have none until the rotation gives them one)."""
    password = postgres.role_password(login)
    postgres.set_password(login, password)
    return database.api.as_user(login, password)


@pytest.fixture(scope="module")
def ledger(postgres: PostgresServer) -> AppDatabase:
    """A migrated database of this module's, with a key and a payment in it (inserted by the
    master user)."""
    database = create_app_database(postgres, "payments_roles")
    with postgres.connect(database.master.dbname) as conn:
        conn.execute(f"INSERT INTO api_keys (prefix, client_id, key_hash) VALUES {KEY_ROW}")
        conn.execute(f"INSERT INTO payments {PAYMENT_COLUMNS} VALUES {PAYMENT_ROW}")
    return database


@pytest.fixture(params=APP_LOGIN_USERS)
def app_conn(
    request: pytest.FixtureRequest, ledger: AppDatabase, postgres: PostgresServer
) -> Iterator[Conn]:
    """Each login of payments_app, autocommit."""
    with psycopg.connect(
        as_login(ledger, request.param, postgres).conninfo(), autocommit=True
    ) as c:
        yield c


@pytest.fixture(params=KEYS_LOGIN_USERS)
def keys_conn(
    request: pytest.FixtureRequest, ledger: AppDatabase, postgres: PostgresServer
) -> Iterator[Conn]:
    """Each login of payments_keys, autocommit."""
    with psycopg.connect(
        as_login(ledger, request.param, postgres).conninfo(), autocommit=True
    ) as c:
        yield c


# --- The API's logins -------------------------------------------------------------------------


def test_the_api_reads_and_appends_payments_and_reads_keys(app_conn: Conn) -> None:
    app_conn.execute(
        f"INSERT INTO payments {PAYMENT_COLUMNS} VALUES "
        "('acme', gen_random_uuid()::text, sha256('b'::bytea), 5, 'EUR', 'o')"
    )
    assert app_conn.execute("SELECT count(*) > 0 FROM payments").fetchone() == (True,)
    assert ("acme",) in app_conn.execute("SELECT client_id FROM api_keys").fetchall()


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE payments SET status = 'created'",
        "DELETE FROM payments",
        "TRUNCATE payments",
        "DROP TABLE payments",
        "ALTER TABLE payments ADD COLUMN refunded boolean",
        "CREATE INDEX payments_currency_idx ON payments (currency)",
        "UPDATE api_keys SET revoked_at = now()",
        "DELETE FROM api_keys",
        f"INSERT INTO api_keys (prefix, client_id, key_hash) VALUES {KEY_ROW}",
        "CREATE TABLE public.shadow (id int)",
        "CREATE TEMPORARY TABLE shadow (id int)",
        "CREATE SCHEMA shadow",
        "CREATE FUNCTION public.f() RETURNS int LANGUAGE sql AS 'SELECT 1'",
    ],
)
def test_the_api_may_not_change_the_ledger_or_the_schema(app_conn: Conn, statement: str) -> None:
    refused(app_conn, statement)


def test_the_api_may_not_create_in_a_schema_it_did_not_make(
    postgres: PostgresServer, ledger: AppDatabase, app_conn: Conn
) -> None:
    with postgres.connect(ledger.master.dbname) as master:
        master.execute("CREATE SCHEMA IF NOT EXISTS reports")
    refused(app_conn, "CREATE TABLE reports.shadow (id int)")


# --- The key CLI's logins ---------------------------------------------------------------------


def test_the_key_cli_creates_lists_and_revokes_keys(keys_conn: Conn) -> None:
    prefix = keys_conn.execute(
        "INSERT INTO api_keys (prefix, client_id, key_hash) "
        "VALUES (substr(md5(random()::text), 1, 12), 'globex', sha256('g'::bytea)) "
        "RETURNING prefix"
    ).fetchone()
    assert prefix is not None
    revoked = keys_conn.execute(
        "UPDATE api_keys SET revoked_at = clock_timestamp() WHERE prefix = %s "
        "RETURNING revoked_at IS NOT NULL",
        prefix,
    ).fetchone()
    assert revoked == (True,)
    listed = keys_conn.execute("SELECT prefix FROM api_keys").fetchall()
    assert prefix in listed


@pytest.mark.parametrize(
    "statement",
    [
        "SELECT * FROM payments",
        f"INSERT INTO payments {PAYMENT_COLUMNS} VALUES {PAYMENT_ROW}",
        "UPDATE payments SET status = 'created'",
        "DELETE FROM payments",
        "TRUNCATE payments",
        "UPDATE api_keys SET client_id = 'other'",
        "UPDATE api_keys SET key_hash = sha256('x'::bytea)",
        "DELETE FROM api_keys",
        "TRUNCATE api_keys",
        "DROP TABLE api_keys",
        "CREATE TABLE public.shadow (id int)",
    ],
)
def test_the_key_cli_may_touch_nothing_else(keys_conn: Conn, statement: str) -> None:
    refused(keys_conn, statement)


# --- The grant table --------------------------------------------------------------------------


def privileges(conn: Conn, login: str) -> dict[str, set[str]]:
    return {
        table: {
            privilege
            for privilege in TABLE_PRIVILEGES
            if conn.execute(
                "SELECT has_table_privilege(%s, %s, %s)", (login, table, privilege)
            ).fetchone()
            == (True,)
        }
        for table in ("payments", "api_keys")
    }


@pytest.mark.parametrize(
    ("group", "login"), [(group, login) for group, logins in GROUPS.items() for login in logins]
)
def test_each_login_has_exactly_its_groups_rights(
    postgres: PostgresServer, ledger: AppDatabase, group: str, login: str
) -> None:
    with postgres.connect(ledger.master.dbname) as conn:

        def holds(query: str, *args: object) -> bool:
            return conn.execute(query, (login, *args)).fetchone() == (True,)

        assert privileges(conn, login) == GRANTED[group]
        assert {
            column
            for column in API_KEYS_COLUMNS
            if holds("SELECT has_column_privilege(%s, 'api_keys', %s, 'UPDATE')", column)
        } == UPDATABLE_COLUMNS[group]
        assert holds("SELECT has_database_privilege(%s, current_database(), 'CONNECT')")
        for privilege in ("CREATE", "TEMPORARY"):
            assert not holds("SELECT has_database_privilege(%s, current_database(), %s)", privilege)
        assert holds("SELECT has_schema_privilege(%s, 'public', 'USAGE')")
        assert not holds("SELECT has_schema_privilege(%s, 'public', 'CREATE')")
        assert holds("SELECT pg_has_role(%s, %s, 'USAGE')", group)  # inherits the group's rights
        other = KEYS_GROUP if group == APP_GROUP else APP_GROUP
        assert not holds("SELECT pg_has_role(%s, %s, 'MEMBER')", other)


def test_the_roles_are_plain_groups_and_logins(
    postgres: PostgresServer, ledger: AppDatabase
) -> None:
    with postgres.connect(ledger.master.dbname) as conn:
        roles = conn.execute(
            """
            SELECT rolname, rolcanlogin, rolinherit, rolsuper, rolcreaterole, rolcreatedb,
                   rolreplication, rolbypassrls
            FROM pg_roles WHERE rolname = ANY(%s) ORDER BY rolname
            """,
            ([*GROUPS, *APP_LOGIN_USERS, *KEYS_LOGIN_USERS],),
        ).fetchall()
    expected = [
        (name, name not in GROUPS, True, False, False, False, False, False)
        for name in sorted([*GROUPS, *APP_LOGIN_USERS, *KEYS_LOGIN_USERS])
    ]
    assert roles == expected


def test_a_role_outside_the_groups_cannot_even_connect(
    postgres: PostgresServer, ledger: AppDatabase
) -> None:
    with postgres.connect() as admin:
        admin.execute("DROP ROLE IF EXISTS payments_stranger")
        admin.execute(
            sql.SQL("CREATE ROLE payments_stranger LOGIN PASSWORD {}").format(
                sql.Literal("stranger-password")
            )
        )
    stranger = ledger.api.as_user("payments_stranger", "stranger-password")
    with pytest.raises(psycopg.OperationalError, match="permission denied for database"):
        psycopg.connect(stranger.conninfo()).close()


def test_the_local_servers_name_the_same_logins() -> None:
    assert local_api.API_LOGIN == APP_LOGIN_USERS[0]
    assert local_api.KEYS_LOGIN == KEYS_LOGIN_USERS[0]
