"""How the API and its commands (the migrations, the key CLI) reach PostgreSQL: the libpq
parameters from the settings (TLS verify-full, bounded connection attempts and statements, TCP
keepalives), and what a connection error says, in one line that is safe to show.

Free of the connection pool: the commands that connect once import this alone (payments_api.db
is the API's pool).
"""

from __future__ import annotations

import psycopg
from psycopg.conninfo import conninfo_to_dict

from payments_api.settings import Settings

AUTH_FAILED_SQLSTATES = frozenset({"28P01", "28000"})

KEEPALIVES = {
    "keepalives": "1",
    "keepalives_idle": "30",
    "keepalives_interval": "10",
    "keepalives_count": "3",
}


def connection_params(settings: Settings) -> dict[str, str]:
    """libpq parameters from the settings; DATABASE_URL wins over the DB_* keys."""
    if settings.database_url is not None:
        params = {
            k: str(v) for k, v in conninfo_to_dict(settings.database_url.get_secret_value()).items()
        }
    else:
        assert settings.db_password is not None  # Settings checks it
        params = {
            "host": str(settings.db_host),
            "port": str(settings.db_port),
            "dbname": str(settings.db_name),
            "user": str(settings.db_user),
            "password": settings.db_password.get_secret_value(),
        }
    params["sslmode"] = "verify-full"  # Settings refuses any other mode in DATABASE_URL
    params.setdefault("sslrootcert", settings.db_sslrootcert)
    params.setdefault("connect_timeout", str(settings.db_connect_timeout))
    params.setdefault("application_name", "payments-api")
    # The server ends a statement that runs too long (the client's bound is the pool's
    # deadline, payments_api.db._Deadline).
    statement_ms = round(settings.db_statement_timeout * 1000)
    params.setdefault("options", f"-c statement_timeout={statement_ms}")
    # Find a dead peer of an idle pooled connection within 30 + 3 x 10 s.
    for key, value in KEEPALIVES.items():
        params.setdefault(key, value)
    return params


def describe_error(error: BaseException, secrets: tuple[str, ...] = ()) -> str:
    """One line from a psycopg error, with any secret masked (libpq never includes the
    password, but the reason is shown to clients, so make sure)."""
    reason = " ".join(str(error).split()) or type(error).__name__
    for secret in secrets:
        if len(secret) >= 4:  # masking a one-letter password would only garble the reason
            reason = reason.replace(secret, "***")
    return reason


def is_auth_failure(error: psycopg.Error) -> bool:
    """True for SQLSTATE 28P01/28000. libpq reports no SQLSTATE for errors while connecting,
    so the server's message (English on RDS) is matched as well."""
    if error.sqlstate in AUTH_FAILED_SQLSTATES:
        return True
    return "authentication failed" in str(error)
