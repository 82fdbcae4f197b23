"""Logging in to the database: TLS verified against the CA bundle, a refused password told
apart from any other failure, the fallback to a secret's other versions, and ALTER ROLE with
a SCRAM verifier, so that no password reaches the server's statement log."""

from __future__ import annotations

import base64
import logging
import os
import ssl
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pg8000.native
import scramp

# A sibling module: relative here, top-level in Lambda (functions/__init__.py).
if TYPE_CHECKING or __package__:
    from . import secret_versions
else:
    import secret_versions

LOG = logging.getLogger(__name__)
LOG.setLevel(logging.INFO)  # as the handler's: the fallbacks are logged at INFO

RDS_CA_BUNDLE = Path(__file__).resolve().parent / "rds-global-bundle.pem"
CONNECT_TIMEOUT_SECONDS = 10
AUTH_FAILED_SQLSTATES = frozenset({"28P01", "28000"})
SCRAM_MECHANISM = "SCRAM-SHA-256"


def tls_context() -> ssl.SSLContext:
    """Verify the server's certificate and host name against the CA bundle; TLS 1.2+."""
    context = ssl.create_default_context(
        cafile=os.environ.get("DB_SSLROOTCERT") or str(RDS_CA_BUNDLE)
    )
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context


def login(document: dict[str, Any]) -> pg8000.native.Connection | None:
    """A connection with the document's credentials, or None if the server rejects the
    password. Any other failure (network, TLS, a refused certificate) raises."""
    user, host, port, dbname = secret_versions.target(document)
    try:
        return pg8000.native.Connection(
            user=user,
            password=str(document["password"]),
            host=host,
            port=int(port),
            database=dbname,
            ssl_context=tls_context(),
            timeout=CONNECT_TIMEOUT_SECONDS,
            application_name="db-password-rotation",
        )
    except pg8000.native.DatabaseError as error:
        code = sqlstate(error)
        if code in AUTH_FAILED_SQLSTATES:
            return None
        LOG.error("logging in to %s:%s failed with SQLSTATE %s", host, port, code)
        raise


def sqlstate(error: pg8000.native.DatabaseError) -> str | None:
    """The server's SQLSTATE of a pg8000 error (its first argument is the error's fields)."""
    fields = error.args[0] if error.args else None
    return fields.get("C") if isinstance(fields, dict) else None


def scram_verifier(password: str) -> str:
    """PostgreSQL's stored form of a SCRAM-SHA-256 password, as libpq's
    PQencryptPasswordConn makes it: ``SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>``.
    PostgreSQL stores a password given in this form as it is."""
    salt, stored_key, server_key, iterations = scramp.ScramMechanism(
        SCRAM_MECHANISM
    ).make_auth_info(password)

    def b64(raw: bytes) -> str:
        return base64.b64encode(raw).decode("ascii")

    return f"{SCRAM_MECHANISM}${iterations}:{b64(salt)}${b64(stored_key)}:{b64(server_key)}"


def alter_role_statement(username: str, password: str) -> str:
    """ALTER ROLE with the password as a SCRAM verifier (utility statements take no bind
    parameters; identifier and literal quote as PostgreSQL does)."""
    return (
        f"ALTER ROLE {pg8000.native.identifier(username)} "
        f"PASSWORD {pg8000.native.literal(scram_verifier(password))}"
    )


def login_falling_back(
    client: Any,
    document: dict[str, Any],
    arn: str,
    stages: tuple[str, ...],
    *,
    label: str = "",
) -> pg8000.native.Connection | None:
    """A connection with ``document``'s credentials; when its password is refused, with the
    password of each version of secret ``arn`` labelled one of ``stages``, in order. None
    when none logs in."""
    connection = login(document)
    for stage in stages:
        if connection is not None:
            break
        password = secret_versions.staged_password(client, arn, stage, label=label)
        if password is not None:
            LOG.info(
                "setSecret: %s's %s does not log in; trying %s",
                label or arn,
                secret_versions.CURRENT,
                stage,
            )
            connection = login({**document, "password": password})
    return connection
