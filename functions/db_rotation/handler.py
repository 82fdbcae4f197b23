"""Rotate a database secret's password: a Secrets Manager rotation function, in two modes.

- Single user, for a secret without ``masterarn`` (the Aurora master's): the user the secret
  names changes its own password.
- Alternating users (AWS's strategy), for a secret with ``masterarn`` (the least-privilege
  logins', e.g. ``payments_api``): two users, ``x`` and ``x_clone``, members of the same
  roles; each rotation gives the one not in use a new password, logged in as the master
  (``masterarn`` names the master's secret), and moves the secret to it. The user in use is
  never touched: a single-user rotation refuses new connections made with the credentials a
  task read before it (and, for a few seconds between setSecret and finishSecret, with
  AWSCURRENT's own), which for the API's tasks and their pools means failed payments;
  alternating, the previous credentials keep logging in until the next rotation.

Secrets Manager runs a rotation as four invocations with the same ``ClientRequestToken`` (the
id of the new version of the secret) and one ``Step`` each:

1. ``createSecret``: a new password from GetRandomPassword (``PASSWORD_LENGTH`` characters,
   every character type, none of ``EXCLUDE_CHARACTERS``), written as version ``token``
   labelled AWSPENDING. Every key is made to agree with it: ``password``, and ``url`` rebuilt
   from the keys with the password in it; the other keys are copied from AWSCURRENT.
   Alternating, ``username`` becomes the other user of the pair (``x`` <-> ``x_clone``:
   ``_clone`` stripped if it ends so, appended otherwise) and ``url`` names it.
2. ``setSecret``:
   - single user: log in with AWSCURRENT (with AWSPREVIOUS's password when that no longer
     works: the database went back to it) and change the role's own password;
   - alternating: check that the pending version is AWSCURRENT's with the other user of the
     pair (only ``username``, ``password`` and ``url`` differ), that ``masterarn`` names
     another secret, itself single-user, with a password, for the same host and port, and
     that neither user is the master's; log in as the master (its AWSCURRENT password; else
     AWSPENDING's, the master's own rotation being half way; else AWSPREVIOUS's) to the
     secret's database; check that the pending user exists and has
     the current user's attributes (pg_roles) and direct memberships (pg_auth_members); then
     change the pending user's password. Never the current user's.
   Either way ALTER ROLE gets the new password as a SCRAM-SHA-256 verifier computed here, so
   the password itself is never sent in a statement and never reaches the server's
   statement log (the cluster logs DDL).
3. ``testSecret``: check that ``url`` names the same credentials as the keys, then log in
   with the pending version; alternating, also check the pending version against AWSCURRENT
   as setSecret does, and, as the pending user, that it has the current user's attributes
   and memberships (a pending user refused CONNECT, as one outside the groups is, fails
   with a message saying so).
4. ``finishSecret``: move AWSCURRENT to the pending version; Secrets Manager labels the
   version it leaves AWSPREVIOUS.

Every step may run again (Secrets Manager retries a failed one, and the steps that follow
it) and does nothing the second time: the pending version is created once, a password that
already logs in is not set again, and finishing a finished rotation changes nothing. Before
any step: rotation must be enabled on the secret, and ``token`` must be a version of it
labelled AWSPENDING (one already labelled AWSCURRENT means the rotation is over).

On the master's secret the function only reads: GetSecretValue with VersionStage AWSCURRENT
in setSecret, then AWSPENDING and AWSPREVIOUS when the master's current password does not
log in.

Database connections use TLS with the certificate and its host name verified (libpq's
``verify-full``) against ``DB_SSLROOTCERT`` (default: the RDS global bundle packed next to
this file), TLS 1.2 or newer, and end after ``CONNECT_TIMEOUT_SECONDS``.

Logged: the step, the secret's ARN, the version id, the outcome, an error's class and
SQLSTATE. Never a password, a url, a user name or any other value of the secret (messages
name keys, versions and, for a membership that differs, the database's group roles).

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
from dataclasses import dataclass
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
INSUFFICIENT_PRIVILEGE = "42501"  # e.g. logging in without CONNECT on the database
SCRAM_MECHANISM = "SCRAM-SHA-256"
# Alternating users: the key naming the master's secret, and the suffix of a user's partner.
MASTER_ARN_KEY = "masterarn"
CLONE_SUFFIX = "_clone"
# The keys an alternating rotation changes; every other key of the pending version must be
# AWSCURRENT's.
ROTATED_KEYS = frozenset({"username", "password", "url"})
# The role attributes two users of a pair must share (pg_roles' columns).
ROLE_ATTRIBUTES = (
    "rolsuper",
    "rolinherit",
    "rolcreaterole",
    "rolcreatedb",
    "rolcanlogin",
    "rolreplication",
    "rolbypassrls",
)


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
    """Write the pending version (once): a new password, every key consistent with it; with
    ``masterarn``, for the other user of the pair."""
    current = get_document(client, arn, CURRENT)
    username = str(current["username"])
    if alternating(current):
        username = partner(username)
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
        SecretString=json.dumps(with_credentials(current, username, password)),
        VersionStages=[PENDING],
    )


def set_pending_password(client: Any, arn: str, token: str) -> None:
    """Give the database role the pending password, logged in with the one it has now; with
    ``masterarn``, give the other user of the pair its password, logged in as the master."""
    current = get_document(client, arn, CURRENT)
    pending = get_document(client, arn, PENDING, token)
    if alternating(current):
        set_partner_password(client, arn, token, current, pending)
        return
    if target(pending) != target(current):
        raise RotationError(
            f"version {token} names another user or database than {CURRENT}; refusing to set it"
        )
    connection = login(pending)
    if connection is not None:
        connection.close()
        LOG.info("setSecret: the pending password already logs in; nothing to change")
        return
    connection = login_falling_back(client, current, arn, (PREVIOUS,))
    if connection is None:
        raise RotationError(
            f"neither the {CURRENT} nor the {PREVIOUS} password of {arn} logs in: the "
            "database password was changed outside the rotation"
        )
    with closing(connection):
        connection.run(alter_role_statement(current["username"], pending["password"]))


def verify_pending_version(client: Any, arn: str, token: str) -> None:
    """The pending version is consistent, and its password logs in; with ``masterarn``, its
    user is also a member of the same roles as AWSCURRENT's."""
    pending = get_document(client, arn, PENDING, token)
    check_consistent(pending)
    current = get_document(client, arn, CURRENT)
    pair = alternating(current)
    if pair:
        check_partner_version(arn, token, current, pending)
    try:
        connection = login(pending)
    except pg8000.native.DatabaseError as error:
        if sqlstate(error) != INSUFFICIENT_PRIVILEGE:
            raise
        raise RotationError(
            f"the user of version {token} may not connect to the database (SQLSTATE "
            f"{INSUFFICIENT_PRIVILEGE}): it lacks CONNECT, which the groups grant"
        ) from error
    if connection is None:
        raise RotationError(f"the password of version {token} does not log in")
    with closing(connection):
        connection.run("SELECT 1")
        if pair:
            # Read as the pending user: pg_roles and pg_auth_members are readable by all.
            check_same_roles(
                role_facts(connection, str(current["username"])),
                role_facts(connection, str(pending["username"])),
            )


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


# --- Alternating users -------------------------------------------------------------------------


def alternating(document: dict[str, Any]) -> bool:
    """Whether the secret rotates with alternating users: it names its master's secret."""
    return MASTER_ARN_KEY in document


def partner(username: str) -> str:
    """The other user of the pair (AWS's convention): ``x`` and ``x_clone``."""
    if username.endswith(CLONE_SUFFIX):
        return username[: -len(CLONE_SUFFIX)]
    return username + CLONE_SUFFIX


def check_partner_version(
    arn: str, token: str, current: dict[str, Any], pending: dict[str, Any]
) -> None:
    """The pending version is AWSCURRENT's with the other user of the pair: only username,
    password and url differ."""
    if pending["username"] != partner(str(current["username"])):
        raise RotationError(
            f"version {token} of {arn} does not name the other user of {CURRENT}'s pair "
            f"(the user with or without {CLONE_SUFFIX!r}); refusing it"
        )
    differ = sorted(
        key
        for key in (current.keys() | pending.keys()) - ROTATED_KEYS
        if current.get(key) != pending.get(key)
    )
    if differ:
        raise RotationError(
            f"version {token} of {arn} differs from {CURRENT} in {', '.join(differ)}; refusing it"
        )


def set_partner_password(
    client: Any, arn: str, token: str, current: dict[str, Any], pending: dict[str, Any]
) -> None:
    """setSecret with alternating users: as the master, check the pending user is the
    current one's partner with the same roles, then give it the pending password. The
    current user is never changed: its connections and logins keep working throughout."""
    check_partner_version(arn, token, current, pending)
    master, master_arn = master_document(client, arn, current)
    if master["username"] in (current["username"], pending["username"]):
        raise RotationError(
            f"a version of {arn} names the master's user: the master's secret rotates "
            "single-user, on its own"
        )
    connection = login_as_master(client, arn, master_arn, current, master)
    with closing(connection):
        check_same_roles(
            role_facts(connection, str(current["username"])),
            role_facts(connection, str(pending["username"])),
        )
        already = login(pending)
        if already is not None:
            already.close()
            LOG.info("setSecret: the pending user already logs in with its password")
            return
        connection.run(alter_role_statement(str(pending["username"]), str(pending["password"])))
    LOG.info("setSecret: the pending user has its new password; the current user is untouched")


def master_document(client: Any, arn: str, current: dict[str, Any]) -> tuple[dict[str, Any], str]:
    """The AWSCURRENT version of the master's secret, and that secret's ARN, checked: another
    secret, for the same server, itself single-user."""
    master_arn = current[MASTER_ARN_KEY]
    if not isinstance(master_arn, str) or not master_arn:
        raise RotationError(f"{MASTER_ARN_KEY} of {arn} is not a secret's ARN")
    label = f"the master's secret ({MASTER_ARN_KEY} of {arn})"
    found_arn, master = read_version(client, master_arn, CURRENT, label=label)
    if found_arn == arn:
        raise RotationError(
            f"{MASTER_ARN_KEY} of {arn} names the secret itself; it must name the master's"
        )
    if alternating(master):
        raise RotationError(f"{label} has {MASTER_ARN_KEY} itself: a master rotates single-user")
    _, host, port, _ = target(master)
    _, current_host, current_port, _ = target(current)
    if (host, port) != (current_host, current_port):
        raise RotationError(f"{label} names another host or port than {arn}")
    return master, found_arn


def login_as_master(
    client: Any, arn: str, master_arn: str, current: dict[str, Any], master: dict[str, Any]
) -> pg8000.native.Connection:
    """A connection as the master to the rotated secret's database: with the master's
    AWSCURRENT password; else AWSPENDING's, when the master's own rotation is between its
    setSecret and its finishSecret (the three schedules start together, so they meet); else
    AWSPREVIOUS's, when the database went back to it."""
    as_master = {**current, "username": master["username"], "password": master["password"]}
    connection = login_falling_back(
        client, as_master, master_arn, (PENDING, PREVIOUS), label="the master's secret"
    )
    if connection is None:
        raise RotationError(
            f"none of the {CURRENT}, {PENDING} and {PREVIOUS} passwords of the master's "
            f"secret ({MASTER_ARN_KEY} of {arn}) logs in"
        )
    return connection


@dataclass(frozen=True)
class RoleFacts:
    """What a pair's two users must share: pg_roles' attributes and direct memberships."""

    attributes: tuple[bool, ...]
    groups: frozenset[str]


ROLE_FACTS_QUERY = f"""
SELECT {", ".join(f"r.{name}" for name in ROLE_ATTRIBUTES)},
       ARRAY(SELECT g.rolname::text FROM pg_auth_members m JOIN pg_roles g ON g.oid = m.roleid
             WHERE m.member = r.oid)
FROM pg_roles r WHERE r.rolname = :name
"""


def role_facts(connection: pg8000.native.Connection, username: str) -> RoleFacts | None:
    """The user's attributes and the roles it is a direct member of; None if there is no
    such role."""
    rows = connection.run(ROLE_FACTS_QUERY, name=username)
    if not rows:
        return None
    *attributes, groups = rows[0]
    return RoleFacts(tuple(bool(a) for a in attributes), frozenset(groups or ()))


def check_same_roles(current: RoleFacts | None, pending: RoleFacts | None) -> None:
    """The pending user exists, and has the current user's attributes and memberships."""
    if current is None:
        raise RotationError(f"the {CURRENT} user does not exist in the database")
    if pending is None:
        raise RotationError(
            "the pending user does not exist in the database: the migrations create both "
            f"users of the pair (with and without {CLONE_SUFFIX!r})"
        )
    if pending.groups != current.groups:
        missing = ", ".join(sorted(current.groups - pending.groups)) or "none"
        extra = ", ".join(sorted(pending.groups - current.groups)) or "none"
        raise RotationError(
            f"the pending user is not a member of the same roles as the {CURRENT} user "
            f"(missing: {missing}; extra: {extra}); the migrations grant both users of the pair"
        )
    if pending.attributes != current.attributes:
        differ = [
            name
            for name, a, b in zip(
                ROLE_ATTRIBUTES, current.attributes, pending.attributes, strict=True
            )
            if a != b
        ]
        raise RotationError(
            f"the pending user's {', '.join(differ)} differs from the {CURRENT} user's"
        )


# --- The secret's document ---------------------------------------------------------------------


def get_document(client: Any, arn: str, stage: str, token: str | None = None) -> dict[str, Any]:
    """The JSON of the version labelled ``stage`` (and with id ``token``), checked."""
    return read_version(client, arn, stage, token)[1]


def read_version(
    client: Any, secret_id: str, stage: str, token: str | None = None, *, label: str = ""
) -> tuple[str, dict[str, Any]]:
    """The secret's ARN and the checked JSON of its version labelled ``stage`` (and with id
    ``token``). Messages name the secret as ``label`` (default: ``secret_id``)."""
    label = label or secret_id
    request = {"SecretId": secret_id, "VersionStage": stage}
    if token is not None:
        request["VersionId"] = token
    value = client.get_secret_value(**request)
    try:
        document = json.loads(value["SecretString"])
    except (KeyError, ValueError) as error:
        raise RotationError(f"the {stage} version of {label} is not a JSON document") from error
    if not isinstance(document, dict):
        raise RotationError(f"the {stage} version of {label} is not a JSON object")
    missing = [key for key in REQUIRED_KEYS if not document.get(key)]
    if missing:
        raise RotationError(f"the {stage} version of {label} lacks {', '.join(missing)}")
    if document["engine"] != "postgres":
        raise RotationError(f"the {stage} version of {label} is not for engine postgres")
    return str(value.get("ARN", secret_id)), document


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
        password = staged_password(client, arn, stage, label=label)
        if password is not None:
            LOG.info("setSecret: %s's %s does not log in; trying %s", label or arn, CURRENT, stage)
            connection = login({**document, "password": password})
    return connection


def staged_password(client: Any, arn: str, stage: str, *, label: str = "") -> str | None:
    """The password of the version labelled ``stage``, or None when there is no such version."""
    try:
        return str(read_version(client, arn, stage, label=label)[1]["password"])
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
    return with_credentials(document, str(document["username"]), password)


def with_credentials(document: dict[str, Any], username: str, password: str) -> dict[str, Any]:
    """A copy of ``document`` with this user and password in every key that holds them."""
    updated = {**document, "username": username, "password": password}
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
