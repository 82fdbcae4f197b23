"""The database's secrets as the other tiers use them, how long a deleted one is kept, and
who may open them: each secret's resource policy and the database key's policy.

database.py makes them; the API tier injects them into its tasks and lets its roles read them.
``SecretUsers`` names, per secret, the stack's roles that use it (platform.py says which, the
way ``allow`` says who reaches whom); each secret then denies everyone else but the
custodians (aws/secret_policies.py), and the key lets only them use it through Secrets
Manager (``database_key_policy``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from payments_infra.aws.access import Custodians, stack_role_arn
from payments_infra.aws.keys import KEY_DELETION_WINDOW_DAYS, KEY_USE_ACTIONS
from payments_infra.aws.policies import (
    callers_through_service_statement,
    key_admin_statements,
    policy_document,
    regional_service,
)
from payments_infra.aws.secret_policies import restrict_secret
from payments_infra.config.naming import Names, PhysicalName

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


@dataclass(frozen=True, kw_only=True)
class SecretUsers:
    """The stack's roles that use each database secret, by name (naming.Names): named before
    they exist, since the key and the secrets are made before the tiers that use them."""

    master: Sequence[PhysicalName]
    app: Sequence[PhysicalName]
    keys: Sequence[PhysicalName]

    @classmethod
    def of_the_stack(cls, *, rotating: bool) -> SecretUsers:
        """Who uses each secret (tests/unit/test_secret_access.py holds this to the roles whose
        policies read it): the migrations' execution role injects the master and both logins;
        the API's execution role injects its login and its task role re-reads it after a
        rotation; the key task's execution role injects the key CLI's login; the rotation
        function (when on) rotates all three, reading the master for the logins."""
        rotation = [Names.db_rotation_role] if rotating else []
        return cls(
            master=[Names.migrations_execution_role, *rotation],
            app=[
                Names.task_execution_role,
                Names.task_role,
                Names.migrations_execution_role,
                *rotation,
            ],
            keys=[Names.keys_execution_role, Names.migrations_execution_role, *rotation],
        )

    def arns(self, account_id: str, suffix: str) -> dict[str, list[str]]:
        """Secret role ("master", "app", "keys") -> its users' role ARNs."""
        return {
            role: [stack_role_arn(account_id, n, suffix) for n in names]
            for role, names in (("master", self.master), ("app", self.app), ("keys", self.keys))
        }


def database_key_policy(
    account_id: str, custodians: Sequence[str], secret_users: Sequence[str]
) -> str:
    """Administration by the custodians; use through RDS by the custodians, through Secrets
    Manager by the secrets' users and the custodians; nobody else, and never directly.

    - RDS: the deployer's CreateDBCluster and CreateDBInstance (storage, Performance Insights)
      make RDS call KMS with the caller's credentials (kms:ViaService rds), then RDS keeps a
      grant; Performance Insights is read through RDS's API too (Aurora user guide, "Changing
      an AWS KMS policy for Performance Insights"), by the custodians only.
    - Secrets Manager: each read (Decrypt) or write (GenerateDataKey) of a secret uses the
      caller's credentials through Secrets Manager: the tasks' execution roles, the API's task
      role, the rotation function's role, the deployer writing the first values, break-glass.
    """
    return policy_document(
        *key_admin_statements(account_id, custodians),
        callers_through_service_statement(
            "RdsForTheClusterAndPerformanceInsights",
            account_id,
            regional_service("rds"),
            ["kms:CreateGrant", *KEY_USE_ACTIONS],
            custodians,
        ),
        callers_through_service_statement(
            "SecretsManagerForTheSecretsUsers",
            account_id,
            regional_service("secretsmanager"),
            ["kms:Decrypt", "kms:DescribeKey", "kms:GenerateDataKey"],
            [*custodians, *secret_users],
        ),
    )


def restrict_database_secrets(
    name: str,
    secrets: DatabaseSecrets,
    users: pulumi.Output[dict[str, list[str]]],
    custodians: Custodians,
    opts: pulumi.ResourceOptions,
) -> list[aws.secretsmanager.SecretPolicy]:
    """Each secret's policy: its users (``SecretUsers.arns``) and the custodians only."""
    return [
        restrict_secret(
            f"{name}-{role}-credentials-policy",
            secret.secret,
            custodians.with_roles(users.apply(lambda u, r=role: u[r])),  # type: ignore[misc]
            opts,
        )
        for role, secret in (
            ("master", secrets.master),
            ("app", secrets.app),
            ("keys", secrets.keys),
        )
    ]


def key_policy(
    account_id: pulumi.Input[str],
    custodians: Custodians,
    users: pulumi.Output[dict[str, list[str]]],
) -> pulumi.Output[str]:
    """``database_key_policy`` once the account, the custodians and the users are known."""
    return pulumi.Output.all(account_id, custodians.arns(), users).apply(
        lambda v: database_key_policy(v[0], v[1], sorted({a for u in v[2].values() for a in u}))
    )
