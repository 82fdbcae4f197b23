"""How the API and its commands (the migrations, the key CLI) reach PostgreSQL: the libpq
parameters from the settings (TLS verify-full, bounded connection attempts and statements, TCP
keepalives), what a connection error says, in one line that is safe to show, the error that says
the database cannot be used (`DatabaseUnavailableError`), and the client's bound on the work of
one connection (`ConnectionDeadline`).

Free of the connection pool: the commands that connect once import this alone (payments_api.db
is the API's pool).
"""

from __future__ import annotations

import asyncio
import os
import socket

import psycopg
from psycopg import AsyncConnection
from psycopg.conninfo import conninfo_to_dict
from psycopg.rows import TupleRow

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
    # deadline, ConnectionDeadline).
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


class DatabaseUnavailableError(Exception):
    """No working database connection. `reason` is safe to show: it never holds the password."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def unavailable_reason(error: BaseException) -> str:
    """Why the database cannot be used, in one line safe to show: a DatabaseUnavailableError's
    reason, or what `describe_error` says of a psycopg error."""
    return error.reason if isinstance(error, DatabaseUnavailableError) else describe_error(error)


class ConnectionDeadline:
    """Bound the database work of a block on one connection: after `seconds`, shut the
    connection's socket down, so libpq fails at once, and raise DatabaseUnavailableError.
    statement_timeout and TCP keepalives cannot end a wait on a server that accepts TCP but
    does not answer (a stopped or frozen process: the kernel still acknowledges). A timer on
    the event loop, not a cancellation: psycopg answers a cancelled wait by sending the server
    a cancel request and waiting up to 10 s more for it."""

    def __init__(self, conn: AsyncConnection[TupleRow], seconds: float) -> None:
        self._conn = conn
        self._seconds = seconds
        self.fired = False
        self._handle: asyncio.TimerHandle | None = None

    def __enter__(self) -> ConnectionDeadline:
        self._handle = asyncio.get_running_loop().call_later(self._seconds, self._expire)
        return self

    def __exit__(self, kind: object, error: BaseException | None, traceback: object) -> None:
        assert self._handle is not None
        self._handle.cancel()
        if self.fired and isinstance(error, psycopg.OperationalError):
            raise DatabaseUnavailableError(
                f"the database did not answer within {self._seconds:g} s"
            ) from error

    def _expire(self) -> None:
        self.fired = True
        try:
            sock = socket.socket(fileno=os.dup(self._conn.pgconn.socket))
        except (OSError, psycopg.Error):
            return
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        finally:
            sock.close()
