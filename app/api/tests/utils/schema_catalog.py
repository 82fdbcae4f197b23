"""A test database as PostgreSQL's catalogs tell it, read over a connection of its own: any
query's rows, whether a relation exists, and the fingerprint of everything the migrations make
(columns, constraints, indexes, tables, grants, memberships, version).
"""

from typing import Any

import psycopg
from payments_local_servers.postgres import DatabaseCredentials

TABLES = "('payments'::regclass, 'api_keys'::regclass, 'alembic_version'::regclass)"
# Everything the migrations make in a database, as the catalogs tell it.
FINGERPRINT = {
    "columns": f"""
        SELECT attrelid::regclass::text, attname, format_type(atttypid, atttypmod), attnotnull,
               pg_get_expr(adbin, adrelid)
        FROM pg_attribute LEFT JOIN pg_attrdef ON adrelid = attrelid AND adnum = attnum
        WHERE attrelid IN {TABLES} AND attnum > 0 AND NOT attisdropped
        ORDER BY attrelid::regclass::text, attnum
    """,
    "constraints": """
        SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint
        WHERE connamespace = 'public'::regnamespace ORDER BY 1, 2
    """,
    "indexes": "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public' ORDER BY 1",
    "tables": """
        SELECT relname, relkind::text, relacl::text FROM pg_class
        WHERE relnamespace = 'public'::regnamespace ORDER BY 1
    """,
    "column grants": f"""
        SELECT attrelid::regclass::text, attname, attacl::text FROM pg_attribute
        WHERE attrelid IN {TABLES} AND attacl IS NOT NULL ORDER BY 1, 2
    """,
    "database grants": "SELECT datacl::text FROM pg_database WHERE datname = current_database()",
    "schema grants": "SELECT nspacl::text FROM pg_namespace WHERE nspname = 'public'",
    "memberships": """
        SELECT r.rolname, m.rolname FROM pg_auth_members
        JOIN pg_roles r ON r.oid = roleid JOIN pg_roles m ON m.oid = member
        WHERE r.rolname LIKE 'payments%' ORDER BY 1, 2
    """,
    "version": "SELECT version_num FROM alembic_version",
}


def fingerprint(database: DatabaseCredentials) -> dict[str, list[tuple[Any, ...]]]:
    """The catalogs' account of the schema, with the master user's name (the owner of the
    database and the tables, different for every test database) replaced by OWNER."""
    with psycopg.connect(database.conninfo()) as conn:
        return {
            name: [
                tuple(
                    value.replace(database.user, "OWNER") if isinstance(value, str) else value
                    for value in row
                )
                for row in conn.execute(query).fetchall()
            ]
            for name, query in FINGERPRINT.items()
        }


def rows(database: DatabaseCredentials, query: str) -> list[tuple[Any, ...]]:
    with psycopg.connect(database.conninfo()) as conn:
        return conn.execute(query).fetchall()


def exists(database: DatabaseCredentials, relation: str) -> bool:
    return rows(database, f"SELECT to_regclass('{relation}') IS NOT NULL") == [(True,)]
