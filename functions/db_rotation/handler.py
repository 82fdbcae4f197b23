"""Rotate the database secret's password: a Secrets Manager rotation function, single user.

Secrets Manager runs a rotation as four invocations with the same ``ClientRequestToken`` (the
id of the new version of the secret) and one ``Step`` each:

1. ``createSecret``: a new password from GetRandomPassword (``PASSWORD_LENGTH`` characters,
   every character type, none of ``EXCLUDE_CHARACTERS``), written as version ``token``
   labelled AWSPENDING. Every key is made to agree with it: ``password``, and ``url`` rebuilt
   from the keys with the password in it; the other keys are copied from AWSCURRENT.
2. ``setSecret``: log in with AWSCURRENT (with AWSPREVIOUS's password when that no longer
   works: a rotation that stopped between setSecret and finishSecret) and change the role's
   own password with ALTER ROLE. The new password goes to the server as a SCRAM-SHA-256
   verifier computed here, so the password itself is never sent in a statement and never
   reaches the server's statement log (the cluster logs DDL).
3. ``testSecret``: check that ``url`` names the same credentials as the keys, then log in
   with the pending version.
4. ``finishSecret``: move AWSCURRENT to the pending version; Secrets Manager labels the
   version it leaves AWSPREVIOUS.

Every step may run again (Secrets Manager retries a failed one, and the steps that follow
it) and does nothing the second time: the pending version is created once, a password that
already logs in is not set again, and finishing a finished rotation changes nothing. Before
any step: rotation must be enabled on the secret, and ``token`` must be a version of it
labelled AWSPENDING (one already labelled AWSCURRENT means the rotation is over).

Database connections use TLS with the certificate and its host name verified (libpq's
``verify-full``) against ``DB_SSLROOTCERT`` (default: the RDS global bundle packed next to
this file), TLS 1.2 or newer, and end after ``CONNECT_TIMEOUT_SECONDS``.

Logged: the step, the secret's ARN, the version id, the outcome, an error's class and
SQLSTATE. Never a password, a url or any other value of the secret.

boto3 comes with the Lambda runtime; pg8000 (a pure-Python PostgreSQL driver) and its
dependencies are packed with this file by the component
(``payments_infra/components/db_rotation.py``, from ``requirements.txt`` here).
"""

from __future__ import annotations

import base64
import json
import logging
import os
import ssl
from collections.abc import Callable
from contextlib import closing
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote, urlsplit

import boto3
import pg8000.native
import scramp
from botocore.exceptions import ClientError

LOG = logging.getLogger(__name__)
LOG.setLevel(logging.INFO)
# At DEBUG, botocore logs request and response bodies, secret values included: never here.
for _library in ("boto3", "botocore", "urllib3"):
    logging.getLogger(_library).setLevel(logging.WARNING)

CURRENT, PENDING, PREVIOUS = "AWSCURRENT", "AWSPENDING", "AWSPREVIOUS"
# Characters a new password must not contain: AWS's default exclusions, and those that would
# need escaping in a connection URL or a shell.
EXCLUDE_CHARACTERS = "/@\"'\\:?#[]%&+=;, "
PASSWORD_LENGTH = 32  # as long as the stack's first password (database.py)
RDS_CA_BUNDLE = Path(__file__).resolve().parent / "rds-global-bundle.pem"
CONNECT_TIMEOUT_SECONDS = 10
# The keys every PostgreSQL secret of AWS's rotation format has; dbname defaults to postgres.
REQUIRED_KEYS = ("engine", "host", "username", "password")
AUTH_FAILED_SQLSTATES = frozenset({"28P01", "28000"})
SCRAM_MECHANISM = "SCRAM-SHA-256"


class RotationError(Exception):
    """A step cannot complete. Messages name keys and versions, never a value."""


_CLIENTS: dict[str, Any] = {}


def secrets_client() -> Any:
    """The Secrets Manager client, created on first use (not at import: tests set moto up)."""
    if "secretsmanager" not in _CLIENTS:
        _CLIENTS["secretsmanager"] = boto3.client("secretsmanager")
    return _CLIENTS["secretsmanager"]


def handler(event: dict[str, Any], context: object) -> None:
    """Lambda entry point: one step of a rotation, as Secrets Manager invokes it."""
    arn, token, step = event["SecretId"], event["ClientRequestToken"], event["Step"]
    run_step = STEPS.get(step)
    if run_step is None:
        raise RotationError(f"unknown rotation step {step!r}")
    client = secrets_client()
    if not version_is_pending(client, arn, token):
        LOG.info("%s: version %s of %s is already AWSCURRENT; nothing to do", step, token, arn)
        return
    LOG.info("%s: starting for version %s of %s", step, token, arn)
    run_step(client, arn, token)
    LOG.info("%s: done for version %s of %s", step, token, arn)


def version_is_pending(client: Any, arn: str, token: str) -> bool:
    """True when ``token`` is the AWSPENDING version of a secret that rotates; False when it
    is already AWSCURRENT; RotationError otherwise (AWS's checks before any step)."""
    metadata = client.describe_secret(SecretId=arn)
    if not metadata.get("RotationEnabled"):
        raise RotationError(f"rotation is not enabled on {arn}")
    stages = metadata.get("VersionIdsToStages", {})
    if token not in stages:
        raise RotationError(f"version {token} is not a version of {arn}")
    if CURRENT in stages[token]:
        return False
    if PENDING not in stages[token]:
        raise RotationError(f"version {token} of {arn} is not labelled {PENDING}")
    return True


# --- The four steps ---------------------------------------------------------------------------


def create_pending_version(client: Any, arn: str, token: str) -> None:
    """Write the pending version (once): a new password, every key consistent with it."""
    current = get_document(client, arn, CURRENT)
    try:
        get_document(client, arn, PENDING, token)
    except ClientError as error:
        if error_code(error) != "ResourceNotFoundException":
            raise
    else:
        LOG.info("createSecret: version %s already has a value; keeping it", token)
        return
    password = client.get_random_password(
        PasswordLength=PASSWORD_LENGTH,
        ExcludeCharacters=EXCLUDE_CHARACTERS,
        RequireEachIncludedType=True,
    )["RandomPassword"]
    client.put_secret_value(
        SecretId=arn,
        ClientRequestToken=token,
        SecretString=json.dumps(with_password(current, password)),
        VersionStages=[PENDING],
    )


def set_pending_password(client: Any, arn: str, token: str) -> None:
    """Give the database role the pending password, logged in with the one it has now."""
    current = get_document(client, arn, CURRENT)
    pending = get_document(client, arn, PENDING, token)
    if target(pending) != target(current):
        raise RotationError(
            f"version {token} names another user or database than {CURRENT}; refusing to set it"
        )
    connection = login(pending)
    if connection is not None:
        connection.close()
        LOG.info("setSecret: the pending password already logs in; nothing to change")
        return
    connection = login(current)
    if connection is None:
        previous = previous_password(client, arn)
        if previous is not None:
            LOG.info("setSecret: %s does not log in; trying %s's password", CURRENT, PREVIOUS)
            connection = login({**current, "password": previous})
    if connection is None:
        raise RotationError(
            f"neither the {CURRENT} nor the {PREVIOUS} password of {arn} logs in: the "
            "database password was changed outside the rotation"
        )
    with closing(connection):
        connection.run(alter_role_statement(current["username"], pending["password"]))


def verify_pending_version(client: Any, arn: str, token: str) -> None:
    """The pending version is consistent, and its password logs in."""
    pending = get_document(client, arn, PENDING, token)
    check_consistent(pending)
    connection = login(pending)
    if connection is None:
        raise RotationError(f"the password of version {token} does not log in")
    with closing(connection):
        connection.run("SELECT 1")


def finish_rotation(client: Any, arn: str, token: str) -> None:
    """Move AWSCURRENT to the pending version."""
    stages = client.describe_secret(SecretId=arn).get("VersionIdsToStages", {})
    current = next((v for v, labels in stages.items() if CURRENT in labels), None)
    if current == token:
        LOG.info("finishSecret: version %s is already %s", token, CURRENT)
        return
    move = {"SecretId": arn, "VersionStage": CURRENT, "MoveToVersionId": token}
    if current is not None:
        move["RemoveFromVersionId"] = current
    client.update_secret_version_stage(**move)


STEPS: dict[str, Callable[[Any, str, str], None]] = {
    "createSecret": create_pending_version,
    "setSecret": set_pending_password,
    "testSecret": verify_pending_version,
    "finishSecret": finish_rotation,
}


# --- The secret's document ---------------------------------------------------------------------


def get_document(client: Any, arn: str, stage: str, token: str | None = None) -> dict[str, Any]:
    """The JSON of the version labelled ``stage`` (and with id ``token``), checked."""
    request = {"SecretId": arn, "VersionStage": stage}
    if token is not None:
        request["VersionId"] = token
    value = client.get_secret_value(**request)
    try:
        document = json.loads(value["SecretString"])
    except (KeyError, ValueError) as error:
        raise RotationError(f"the {stage} version of {arn} is not a JSON document") from error
    if not isinstance(document, dict):
        raise RotationError(f"the {stage} version of {arn} is not a JSON object")
    missing = [key for key in REQUIRED_KEYS if not document.get(key)]
    if missing:
        raise RotationError(f"the {stage} version of {arn} lacks {', '.join(missing)}")
    if document["engine"] != "postgres":
        raise RotationError(f"the {stage} version of {arn} is not for engine postgres")
    return document


def previous_password(client: Any, arn: str) -> str | None:
    """The AWSPREVIOUS version's password, or None when there is no such version."""
    try:
        return str(get_document(client, arn, PREVIOUS)["password"])
    except ClientError as error:
        if error_code(error) == "ResourceNotFoundException":
            return None
        raise


def target(document: dict[str, Any]) -> tuple[str, str, str, str]:
    """Who logs in where: user, host, port, database."""
    return (
        str(document["username"]),
        str(document["host"]),
        str(document.get("port", 5432)),
        str(document.get("dbname", "postgres")),
    )


def connection_url(document: dict[str, Any], query: str = "sslmode=verify-full") -> str:
    """``postgresql://user:password@host:port/dbname?query`` from the document's keys; user,
    password and database percent-encoded (RFC 3986), so any password gives a valid URL."""
    user, host, port, dbname = target(document)
    password = str(document["password"])
    url = (
        f"postgresql://{quote(user, safe='')}:{quote(password, safe='')}@{host}:{port}/"
        f"{quote(dbname, safe='')}"
    )
    return f"{url}?{query}" if query else url


def with_password(document: dict[str, Any], password: str) -> dict[str, Any]:
    """A copy of ``document`` with the new password in every key that holds it."""
    updated = {**document, "password": password}
    if "url" in document:
        updated["url"] = connection_url(updated, urlsplit(str(document["url"])).query)
    return updated


def check_consistent(document: dict[str, Any]) -> None:
    """``url``, when there is one, names the same user, password, host, port and database as
    the keys. Raises RotationError naming the keys that disagree (not their values)."""
    if "url" not in document:
        return
    parts = urlsplit(str(document["url"]))
    try:
        port = str(parts.port)
    except ValueError:
        port = "(invalid)"
    in_url = {
        "username": unquote(parts.username or ""),
        "password": unquote(parts.password or ""),
        "host": parts.hostname or "",
        "port": port,
        "dbname": unquote(parts.path.lstrip("/")),
    }
    user, host, port_key, dbname = target(document)
    in_keys = {
        "username": user,
        "password": str(document["password"]),
        "host": host,
        "port": port_key,
        "dbname": dbname,
    }
    wrong = [key for key in in_keys if in_url[key] != in_keys[key]]
    if wrong:
        raise RotationError(f"url disagrees with the keys {', '.join(wrong)}")


# --- The database ------------------------------------------------------------------------------


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
    user, host, port, dbname = target(document)
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


def error_code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))
