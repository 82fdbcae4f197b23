"""Least-privilege roles: the API and the key CLI stop using the master user.

| role (payments_api.roles)   | kind                | rights                                   |
| ---------------------------- | ------------------- | ---------------------------------------- |
| payments_app                 | group, NOLOGIN      | CONNECT; USAGE on schema public;         |
|                              |                     | payments: SELECT, INSERT;                |
|                              |                     | api_keys: SELECT                         |
| payments_keys                | group, NOLOGIN      | CONNECT; USAGE on schema public;         |
|                              |                     | api_keys: SELECT, INSERT, and UPDATE of  |
|                              |                     | revoked_at only                          |
| payments_api,                | LOGIN INHERIT,      | payments_app's (members of it)           |
| payments_api_clone           | no password         |                                          |
| payments_keys_cli,           | LOGIN INHERIT,      | payments_keys's (members of it)          |
| payments_keys_cli_clone      | no password         |                                          |

payments is an append-only ledger: no role but its owner may UPDATE, DELETE or TRUNCATE it.
No group may create anything (CREATE on schema public and on the database are PUBLIC's no
more, and TEMPORARY neither), nor alter or drop a table (only the owner may: the master user
that runs the migrations). The logins get their passwords from `python -m payments_api.migrate`
(from their secrets) and then from the rotation function; until then they cannot log in.

Roles belong to the cluster, not to a database: several databases of one server (the tests
make many) each run this revision, so a role is created only if it does not exist, and a
concurrent creation by another database's migration is tolerated (the advisory lock of env.py
is per database). Grants belong to the database and are made every time.

Forward only. A revision that adds a table grants on it in the same revision (no default
privileges: every right is written down where it is given).

Revision ID: 0002_roles
Revises: 0001_schema
"""

from __future__ import annotations

from alembic import op

from payments_api.roles import APP_GROUP, GROUPS, KEYS_GROUP

revision = "0002_roles"
down_revision: str | None = "0001_schema"
branch_labels: str | None = None
depends_on: str | None = None


def create_role(name: str, attributes: str) -> str:
    """CREATE ROLE unless it exists (role names are plain identifiers: payments_api.roles)."""
    return f"""
    DO $$
    BEGIN
        IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = '{name}') THEN
            BEGIN
                CREATE ROLE {name} {attributes};
            EXCEPTION WHEN duplicate_object OR unique_violation THEN
                NULL;  -- another database's migration created it just now
            END;
        END IF;
    END
    $$
    """


def statements() -> list[str]:
    roles = []
    for group, logins in GROUPS.items():
        roles.append(create_role(group, "NOLOGIN"))
        for login in logins:
            # LOGIN without a password: it cannot log in until migrate.py sets one.
            roles.append(create_role(login, "LOGIN INHERIT"))
            roles.append(f"GRANT {group} TO {login}")
    groups = f"{APP_GROUP}, {KEYS_GROUP}"
    return [
        *roles,
        # The database: CONNECT for the two groups, nothing for anyone else (PUBLIC had
        # CONNECT and TEMPORARY). Its name is the current database's, whatever it is called.
        f"""
        DO $$
        BEGIN
            EXECUTE format('REVOKE ALL ON DATABASE %I FROM PUBLIC', current_database());
            EXECUTE format('GRANT CONNECT ON DATABASE %I TO {groups}', current_database());
        END
        $$
        """,
        # Schema public: nobody but its owner creates in it (the default since PostgreSQL 15;
        # said here for older servers and for databases made from a template that differs).
        "REVOKE CREATE ON SCHEMA public FROM PUBLIC",
        f"GRANT USAGE ON SCHEMA public TO {groups}",
        "REVOKE ALL ON TABLE payments, api_keys FROM PUBLIC",
        f"GRANT SELECT, INSERT ON TABLE payments TO {APP_GROUP}",
        f"GRANT SELECT ON TABLE api_keys TO {APP_GROUP}",
        f"GRANT SELECT, INSERT ON TABLE api_keys TO {KEYS_GROUP}",
        f"GRANT UPDATE (revoked_at) ON TABLE api_keys TO {KEYS_GROUP}",
    ]


def upgrade() -> None:
    for statement in statements():
        op.execute(statement)


def downgrade() -> None:
    raise NotImplementedError("forward-only: a later revision revokes what is no longer needed")
