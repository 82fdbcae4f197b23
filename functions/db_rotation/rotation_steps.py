"""The four steps of a rotation, as Secrets Manager invokes them (the handler's docstring says
what each does): ``STEPS``, by the name of the step."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from contextlib import closing
from typing import TYPE_CHECKING, Any

import pg8000.native
from botocore.exceptions import ClientError

# Sibling modules: relative here, top-level in Lambda (functions/__init__.py).
if TYPE_CHECKING or __package__:
    from . import alternating_users, postgres_login, rotation_error, secret_versions
else:
    import alternating_users
    import postgres_login
    import rotation_error
    import secret_versions

LOG = logging.getLogger(__name__)
LOG.setLevel(logging.INFO)  # as the handler's: a step that finds its work done says so

# Characters a new password must not contain: AWS's default exclusions, and those that would
# need escaping in a connection URL or a shell.
EXCLUDE_CHARACTERS = "/@\"'\\:?#[]%&+=;, "
PASSWORD_LENGTH = 32  # as long as the stack's first password (database.py)
INSUFFICIENT_PRIVILEGE = "42501"  # e.g. logging in without CONNECT on the database


def create_pending_version(client: Any, arn: str, token: str) -> None:
    """Write the pending version (once): a new password, every key consistent with it; with
    ``masterarn``, for the other user of the pair."""
    current = secret_versions.get_document(client, arn, secret_versions.CURRENT)
    username = str(current["username"])
    if alternating_users.alternating(current):
        username = alternating_users.partner(username)
    try:
        secret_versions.get_document(client, arn, secret_versions.PENDING, token)
    except ClientError as error:
        if secret_versions.error_code(error) != "ResourceNotFoundException":
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
        SecretString=json.dumps(secret_versions.with_credentials(current, username, password)),
        VersionStages=[secret_versions.PENDING],
    )


def set_pending_password(client: Any, arn: str, token: str) -> None:
    """Give the database role the pending password, logged in with the one it has now; with
    ``masterarn``, give the other user of the pair its password, logged in as the master."""
    current = secret_versions.get_document(client, arn, secret_versions.CURRENT)
    pending = secret_versions.get_document(client, arn, secret_versions.PENDING, token)
    if alternating_users.alternating(current):
        alternating_users.set_partner_password(client, arn, token, current, pending)
        return
    if secret_versions.target(pending) != secret_versions.target(current):
        raise rotation_error.RotationError(
            f"version {token} names another user or database than {secret_versions.CURRENT}; "
            "refusing to set it"
        )
    connection = postgres_login.login(pending)
    if connection is not None:
        connection.close()
        LOG.info("setSecret: the pending password already logs in; nothing to change")
        return
    connection = postgres_login.login_falling_back(
        client, current, arn, (secret_versions.PREVIOUS,)
    )
    if connection is None:
        raise rotation_error.RotationError(
            f"neither the {secret_versions.CURRENT} nor the {secret_versions.PREVIOUS} password "
            f"of {arn} logs in: the database password was changed outside the rotation"
        )
    with closing(connection):
        connection.run(
            postgres_login.alter_role_statement(current["username"], pending["password"])
        )


def verify_pending_version(client: Any, arn: str, token: str) -> None:
    """The pending version is consistent, and its password logs in; with ``masterarn``, its
    user is also a member of the same roles as AWSCURRENT's."""
    pending = secret_versions.get_document(client, arn, secret_versions.PENDING, token)
    secret_versions.check_consistent(pending)
    current = secret_versions.get_document(client, arn, secret_versions.CURRENT)
    pair = alternating_users.alternating(current)
    if pair:
        alternating_users.check_partner_version(arn, token, current, pending)
    try:
        connection = postgres_login.login(pending)
    except pg8000.native.DatabaseError as error:
        if postgres_login.sqlstate(error) != INSUFFICIENT_PRIVILEGE:
            raise
        raise rotation_error.RotationError(
            f"the user of version {token} may not connect to the database (SQLSTATE "
            f"{INSUFFICIENT_PRIVILEGE}): it lacks CONNECT, which the groups grant"
        ) from error
    if connection is None:
        raise rotation_error.RotationError(f"the password of version {token} does not log in")
    with closing(connection):
        connection.run("SELECT 1")
        if pair:
            # Read as the pending user: pg_roles and pg_auth_members are readable by all.
            alternating_users.check_same_roles(
                alternating_users.role_facts(connection, str(current["username"])),
                alternating_users.role_facts(connection, str(pending["username"])),
            )


def finish_rotation(client: Any, arn: str, token: str) -> None:
    """Move AWSCURRENT to the pending version."""
    stages = client.describe_secret(SecretId=arn).get("VersionIdsToStages", {})
    current = next((v for v, labels in stages.items() if secret_versions.CURRENT in labels), None)
    if current == token:
        LOG.info("finishSecret: version %s is already %s", token, secret_versions.CURRENT)
        return
    move = {"SecretId": arn, "VersionStage": secret_versions.CURRENT, "MoveToVersionId": token}
    if current is not None:
        move["RemoveFromVersionId"] = current
    client.update_secret_version_stage(**move)


STEPS: dict[str, Callable[[Any, str, str], None]] = {
    "createSecret": create_pending_version,
    "setSecret": set_pending_password,
    "testSecret": verify_pending_version,
    "finishSecret": finish_rotation,
}
