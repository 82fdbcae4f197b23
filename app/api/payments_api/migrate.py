"""Migrate the database and make its logins work: `python -m payments_api.migrate`.

The command of the one-off ECS task that a deploy runs before the service's new tasks start.
The API and the key CLI run no DDL: they log in as roles that may not (payments_api.roles).

Environment (ECS injects it from the secrets):

- The master user's connection, read as the API reads its own (payments_api.settings):
  DATABASE_URL, or DB_HOST, DB_PORT, DB_NAME, DB_USER and DB_PASSWORD; TLS verify-full
  against DB_SSLROOTCERT (default: the RDS CA bundle of the image); DB_CONNECT_TIMEOUT.
- Optional, each pair all or nothing, the current values of the role secrets:
  APP_DB_USER and APP_DB_PASSWORD (one of payments_api, payments_api_clone), and
  KEYS_DB_USER and KEYS_DB_PASSWORD (one of payments_keys_cli, payments_keys_cli_clone).

What it does, in order:

1. `upgrade head`: every pending revision of payments_api/migrations, in one transaction
   under an advisory lock, lock waits bounded (payments_api/migrations/env.py). Two runs at
   once are safe: the second waits, then finds nothing to do. A failed revision rolls the
   whole run back. Prints the version before and after, one line each. A database at a
   revision this image does not know (a newer image migrated it; this is a rollback) is left
   as it is, and said so: migrations never run backwards.
2. For each login given: log in as it (same host and database, TLS verify-full). If the
   password is refused (SQLSTATE 28P01/28000), set it as the master user with ALTER ROLE
   ... PASSWORD and the SCRAM-SHA-256 verifier, computed here by libpq
   (PQencryptPasswordConn, what psql's \\password uses): the password itself is in no
   statement, so not in the server's statement log (the cluster logs DDL). Then log in
   again. A login that already works is left alone: its password belongs to the rotation
   function from then on. A user that is not one of its group's login users is refused.

Exit status: 0 when all of it is done; 1 when the migrations or a login failed; 2 when the
environment is incomplete or names a user outside its group. Every failure is one line on
stderr naming what failed; never a password, nor a URL with one.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import sql
from psycopg.conninfo import make_conninfo
from pydantic import ValidationError

from payments_api.db_connection import connection_params, describe_error, is_auth_failure
from payments_api.migrations import MigrationError, upgrade
from payments_api.roles import APP_GROUP, APP_LOGIN_USERS, KEYS_GROUP, KEYS_LOGIN_USERS
from payments_api.settings import Settings

APPLICATION_NAME = "payments-migrate"
EXIT_FAILED = 1
EXIT_USAGE = 2
SCRAM = b"scram-sha-256"


class UsageError(Exception):
    """The environment is incomplete or names a user outside its group."""


class LoginError(Exception):
    """A login does not work, and setting its password did not help."""


@dataclass(frozen=True)
class Login:
    """A login role and the password its secret holds."""

    variable: str  # the environment's name for the user: APP_DB_USER or KEYS_DB_USER
    group: str
    user: str
    password: str

    def __repr__(self) -> str:  # never show the password
        return f"Login(group={self.group!r}, user={self.user!r})"


# (prefix of the environment's names, group, its login users)
LOGIN_VARIABLES = (
    ("APP_DB", APP_GROUP, APP_LOGIN_USERS),
    ("KEYS_DB", KEYS_GROUP, KEYS_LOGIN_USERS),
)


def logins_from_env(environ: Mapping[str, str]) -> list[Login]:
    """The logins the environment names; raises UsageError for half a pair or a user outside
    its group (checked before anything is done)."""
    logins = []
    for prefix, group, users in LOGIN_VARIABLES:
        user = environ.get(f"{prefix}_USER", "")
        password = environ.get(f"{prefix}_PASSWORD", "")
        if not user and not password:
            continue
        if not user or not password:
            missing = f"{prefix}_USER" if not user else f"{prefix}_PASSWORD"
            raise UsageError(
                f"{missing} is missing: set {prefix}_USER and {prefix}_PASSWORD or neither"
            )
        if user not in users:
            raise UsageError(
                f"{prefix}_USER is {user!r}, not a login of {group}: expected one of "
                f"{', '.join(users)}"
            )
        logins.append(Login(f"{prefix}_USER", group, user, password))
    return logins


def master_params(settings: Settings) -> dict[str, str]:
    """The master user's libpq parameters: the API's (TLS verify-full, timeouts), named."""
    params = connection_params(settings)
    params["application_name"] = APPLICATION_NAME
    return params


def scram_verifier(conn: psycopg.Connection[Any], user: str, password: str) -> str:
    """PostgreSQL's stored form of the password (SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:
    <ServerKey>), computed by libpq on this side; the server stores it as it is."""
    verifier = conn.pgconn.encrypt_password(password.encode(), user.encode(), SCRAM)
    return verifier.decode("ascii")


def _try_login(params: Mapping[str, str], login: Login) -> psycopg.Error | None:
    """None if `login` logs in with its password; else the error."""
    conninfo = make_conninfo("", **{**params, "user": login.user, "password": login.password})
    try:
        psycopg.connect(conninfo).close()
    except psycopg.Error as error:
        return error
    return None


def ensure_login(params: Mapping[str, str], login: Login) -> str:
    """Make `login` log in (see the module's docstring); what was done, as words."""
    error = _try_login(params, login)
    if error is None:
        return "logs in; left as it is"
    secrets = (login.password, params.get("password", ""))
    if not is_auth_failure(error):
        raise LoginError(f"login {login.user}: {describe_error(error, secrets)}")
    with psycopg.connect(make_conninfo("", **params), autocommit=True) as master:
        master.execute(
            sql.SQL("ALTER ROLE {} PASSWORD {}").format(
                sql.Identifier(login.user),
                sql.Literal(scram_verifier(master, login.user, login.password)),
            )
        )
    error = _try_login(params, login)
    if error is not None:
        raise LoginError(
            f"login {login.user} is still refused after its password was set: "
            f"{describe_error(error, secrets)}"
        )
    return f"password set from {login.variable}'s secret; logs in"


def _settings_problem(error: ValidationError) -> str:
    return "; ".join(str(problem["msg"]) for problem in error.errors())


def run() -> int:
    """Steps 1 and 2 with this process's environment; the exit status."""
    try:
        logins = logins_from_env(os.environ)
        settings = Settings()
    except UsageError as error:
        print(f"migrate: {error}", file=sys.stderr)
        return EXIT_USAGE
    except ValidationError as error:
        print(f"migrate: the master connection: {_settings_problem(error)}", file=sys.stderr)
        return EXIT_USAGE
    params = master_params(settings)
    master_password = (params.get("password", ""),)
    try:
        versions = upgrade(make_conninfo("", **params))
    except MigrationError as error:
        print(f"migrate: {describe_error(error, master_password)}", file=sys.stderr)
        return EXIT_FAILED
    print(f"schema version before: {versions.before or 'none (an empty database)'}", flush=True)
    print(f"schema version after: {versions.after}", flush=True)
    if versions.newer:
        print(
            f"schema version {versions.before} is newer than this image knows: left as it is "
            "(an older image after a newer one: a rollback)",
            flush=True,
        )
    for login in logins:
        try:
            outcome = ensure_login(params, login)
        except LoginError as error:
            print(f"migrate: {error}", file=sys.stderr)
            return EXIT_FAILED
        except psycopg.Error as error:  # the master connection that sets the password
            reason = describe_error(error, (login.password, *master_password))
            print(f"migrate: setting the password of {login.user}: {reason}", file=sys.stderr)
            return EXIT_FAILED
        print(f"login {login.user}: {outcome}", flush=True)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m payments_api.migrate",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.parse_args(argv)  # no arguments: everything comes from the environment
    return run()


if __name__ == "__main__":
    sys.exit(main())
