"""Databases for tests, made as a deploy makes them, in process (the migration command itself
has its own tests, run as a process: tests/test_migrate.py).

A new database is owned by a superuser of its own (the master user), migrated to the head as
that user, and the API's and the key CLI's logins are made to work with this server's
passwords for them: `python -m payments_api.migrate`'s steps, called here.
"""

import secrets
from dataclasses import replace

from payments_local_servers.api import API_LOGIN, KEYS_LOGIN, AppDatabase
from payments_local_servers.postgres import DatabaseCredentials, PostgresServer
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict

from payments_api.migrate import Login, ensure_login
from payments_api.migrations import upgrade
from payments_api.roles import APP_GROUP, KEYS_GROUP


def libpq_params(credentials: DatabaseCredentials) -> dict[str, str]:
    return {key: str(value) for key, value in conninfo_to_dict(credentials.conninfo()).items()}


def create_unmigrated_database(server: PostgresServer, name: str) -> DatabaseCredentials:
    """An empty database owned by a superuser `name`, the master user that migrates it."""
    return server.create_database(name, superuser=True)


def provision_logins(server: PostgresServer, master: DatabaseCredentials) -> AppDatabase:
    """Make the API's and the key CLI's logins work on `master`'s (migrated) database."""
    api = master.as_user(API_LOGIN, server.role_password(API_LOGIN))
    keys = master.as_user(KEYS_LOGIN, server.role_password(KEYS_LOGIN))
    params = libpq_params(master)
    ensure_login(params, Login("APP_DB_USER", APP_GROUP, api.user, api.password))
    ensure_login(params, Login("KEYS_DB_USER", KEYS_GROUP, keys.user, keys.password))
    return AppDatabase(master, api, keys)


def create_app_database(server: PostgresServer, name: str) -> AppDatabase:
    """A database `name`, migrated to the head, with the API's and the key CLI's logins."""
    master = create_unmigrated_database(server, name)
    upgrade(master.conninfo())
    return provision_logins(server, master)


def with_own_api_login(server: PostgresServer, database: AppDatabase) -> AppDatabase:
    """`database` with an API login of its own: a new role `<database>_api`, LOGIN, a member of
    payments_app as payments_api is (so with exactly its rights). For tests that change the
    login's password or LOGIN, or end its sessions: payments_api belongs to the whole server,
    and every other test's connections would feel it."""
    role = f"{database.master.dbname}_api"
    password = secrets.token_urlsafe(16)
    with server.connect() as admin:
        admin.execute(
            sql.SQL("CREATE ROLE {} LOGIN PASSWORD {} IN ROLE {}").format(
                sql.Identifier(role), sql.Literal(password), sql.Identifier(APP_GROUP)
            )
        )
    return replace(database, api=database.api.as_user(role, password))
