"""The secret's versions and their JSON documents: a version read from Secrets Manager and
checked (AWS's rotation format for PostgreSQL), and a document's keys kept consistent: the
user, host, port and database it names, and ``url`` rebuilt from the keys."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, unquote, urlsplit

from botocore.exceptions import ClientError

# A sibling module: relative here, top-level in Lambda (functions/__init__.py).
if TYPE_CHECKING or __package__:
    from . import rotation_error
else:
    import rotation_error

CURRENT, PENDING, PREVIOUS = "AWSCURRENT", "AWSPENDING", "AWSPREVIOUS"
# The keys every PostgreSQL secret of AWS's rotation format has; dbname defaults to postgres.
REQUIRED_KEYS = ("engine", "host", "username", "password")


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
        raise rotation_error.RotationError(
            f"the {stage} version of {label} is not a JSON document"
        ) from error
    if not isinstance(document, dict):
        raise rotation_error.RotationError(f"the {stage} version of {label} is not a JSON object")
    missing = [key for key in REQUIRED_KEYS if not document.get(key)]
    if missing:
        raise rotation_error.RotationError(
            f"the {stage} version of {label} lacks {', '.join(missing)}"
        )
    if document["engine"] != "postgres":
        raise rotation_error.RotationError(
            f"the {stage} version of {label} is not for engine postgres"
        )
    return str(value.get("ARN", secret_id)), document


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
        raise rotation_error.RotationError(f"url disagrees with the keys {', '.join(wrong)}")


def error_code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))
