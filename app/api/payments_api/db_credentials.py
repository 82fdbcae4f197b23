"""The database login a rotation changes, read from its secret: `user` and `password` from an
RDS secret's JSON, fetched from Secrets Manager (DB_SECRET_ARN) when the pool
(payments_api.db) finds its password rejected.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Protocol

from psycopg.conninfo import conninfo_to_dict


class CredentialSource(Protocol):
    def fetch(self) -> dict[str, str]:
        """Current `user` and `password` connection parameters."""
        ...


def credentials_from_secret(secret: Mapping[str, Any]) -> dict[str, str]:
    """`user` and `password` from an RDS secret's JSON (keys username and password, or url)."""
    credentials: dict[str, str] = {}
    url = secret.get("url")
    if isinstance(url, str) and url:
        parsed = conninfo_to_dict(url)
        credentials.update({k: str(parsed[k]) for k in ("user", "password") if parsed.get(k)})
    if secret.get("username"):
        credentials["user"] = str(secret["username"])
    if secret.get("password"):
        credentials["password"] = str(secret["password"])
    if "password" not in credentials:
        raise ValueError("the database secret has no password (expected key 'password' or 'url')")
    return credentials


class SecretsManagerCredentials:
    """Reads the database secret's JSON with boto3 `get_secret_value`."""

    def __init__(self, secret_arn: str, region: str) -> None:
        self._secret_arn = secret_arn
        self._region = region

    def fetch(self) -> dict[str, str]:
        import boto3  # noqa: PLC0415  # only tasks with DB_SECRET_ARN pay for the import

        client = boto3.client("secretsmanager", region_name=self._region)
        value = client.get_secret_value(SecretId=self._secret_arn)
        return credentials_from_secret(json.loads(value["SecretString"]))
