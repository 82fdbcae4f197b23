"""The database's secrets as the other tiers use them, and how long a deleted one is kept.

database.py makes them; the API tier injects them into its tasks and lets its roles read them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from payments_infra.aws.keys import KEY_DELETION_WINDOW_DAYS
from payments_infra.config.naming import Names

# The protected secret's recovery window (module docstring); unprotected, it goes at once, so
# a destroy followed by an up can reuse the name.
PROTECTED_SECRET_RECOVERY_DAYS = KEY_DELETION_WINDOW_DAYS
UNPROTECTED_SECRET_RECOVERY_DAYS = 0

# The secrets' names, by role.
SECRET_NAMES = {
    "master": Names.db_master_secret,
    "app": Names.db_app_secret,
    "keys": Names.db_keys_secret,
}


@dataclass(frozen=True)
class DatabaseSecret:
    """One of the database's secrets, as others use it: ARN for policies and task
    definitions, and its first value (a task that starts before it exists fails to start)."""

    secret: aws.secretsmanager.Secret
    value: aws.secretsmanager.SecretVersion

    @property
    def arn(self) -> pulumi.Output[str]:
        return self.secret.arn


@dataclass(frozen=True, kw_only=True)
class DatabaseSecrets:
    """The database's three secrets: the master's and one per login (aurora.py)."""

    master: DatabaseSecret
    app: DatabaseSecret
    keys: DatabaseSecret
    secret_keys: Mapping[str, str]
    """Environment variable -> key of a secret's JSON, as a task injects it (DB_HOST...)."""

    @property
    def values(self) -> list[aws.secretsmanager.SecretVersion]:
        """The first value of each: what a task or a rotation needs before it starts."""
        return [self.master.value, self.app.value, self.keys.value]
