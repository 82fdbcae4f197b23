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
dependencies are packed with these modules by the component
(``payments_infra/components/database/db_rotation.py``, from ``requirements.txt`` here).

The parts are sibling modules: rotation_steps (the four steps), alternating_users (the pair,
its master and their roles), secret_versions (a version read and checked, its keys kept
consistent), postgres_login (TLS, logging in, ALTER ROLE) and rotation_error. This module is
the entry point: the checks before any step, and the Secrets Manager client.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import boto3

# Sibling modules: relative here, top-level in Lambda (functions/__init__.py).
if TYPE_CHECKING or __package__:
    from . import (
        alternating_users,
        postgres_login,
        rotation_error,
        rotation_steps,
        secret_versions,
    )
else:
    import alternating_users
    import postgres_login
    import rotation_error
    import rotation_steps
    import secret_versions

LOG = logging.getLogger(__name__)
LOG.setLevel(logging.INFO)
# At DEBUG, botocore logs request and response bodies, secret values included: never here.
for _library in ("boto3", "botocore", "urllib3"):
    logging.getLogger(_library).setLevel(logging.WARNING)

# Tests that import this module only read these off it: the API's (app/api/tests), and the
# probe of the unpacked archive (tests/unit/test_db_rotation.py).
CLONE_SUFFIX = alternating_users.CLONE_SUFFIX
ROTATED_KEYS = alternating_users.ROTATED_KEYS
connection_url = secret_versions.connection_url
login = postgres_login.login
scram_verifier = postgres_login.scram_verifier

_CLIENTS: dict[str, Any] = {}


def secrets_client() -> Any:
    """The Secrets Manager client, created on first use (not at import: tests set moto up)."""
    if "secretsmanager" not in _CLIENTS:
        _CLIENTS["secretsmanager"] = boto3.client("secretsmanager")
    return _CLIENTS["secretsmanager"]


def handler(event: dict[str, Any], context: object) -> None:
    """Lambda entry point: one step of a rotation, as Secrets Manager invokes it."""
    arn, token, step = event["SecretId"], event["ClientRequestToken"], event["Step"]
    run_step = rotation_steps.STEPS.get(step)
    if run_step is None:
        raise rotation_error.RotationError(f"unknown rotation step {step!r}")
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
        raise rotation_error.RotationError(f"rotation is not enabled on {arn}")
    stages = metadata.get("VersionIdsToStages", {})
    if token not in stages:
        raise rotation_error.RotationError(f"version {token} is not a version of {arn}")
    if secret_versions.CURRENT in stages[token]:
        return False
    if secret_versions.PENDING not in stages[token]:
        raise rotation_error.RotationError(
            f"version {token} of {arn} is not labelled {secret_versions.PENDING}"
        )
    return True
