"""Database component: Aurora PostgreSQL over two zones, encrypted, TLS only, with its secret.

Creates:
- a customer-managed KMS key (rotation on, 7-day deletion window) and its alias
  ``alias/aurora-{suffix}``; its policy lets the account administer it and lets principals of
  the account use it only through RDS and Secrets Manager;
- the security group ``db-sg-{suffix}``, with no egress and no ingress of its own: platform.py
  lets the API tasks in on 5432 (``connections``);
- a DB subnet group over the private subnets only;
- a cluster parameter group that forces TLS (``rds.force_ssl``, TLS 1.2 or newer) and logs
  connections, disconnections, DDL, lock waits and statements slower than a second;
- the log group RDS exports to, created first with 30-day retention so that RDS does not
  create one that never expires and outlives the stack;
- the Aurora PostgreSQL cluster ``aurora-cluster-{suffix}`` (Serverless v2, storage encrypted
  with the key, IAM database authentication, 7+ days of backups) with a writer and a reader
  placed in two different zones, each with enhanced monitoring every 60 s through the role
  ``aurora-monitoring-role-{suffix}``;
- the master password (``pulumi_random``, a Pulumi secret end to end) and the Secrets
  Manager secret ``db-master-credentials-{suffix}`` (the key above) holding the JSON AWS's
  rotation functions use plus ``url``, a ``postgresql://`` connection string: only the
  migrations and the rotation function read it;
- one secret per least-privilege login (aurora.py ``APP_LOGIN``, ``KEYS_LOGIN``):
  ``db-app-credentials-{suffix}``, which the API's tasks get, and ``db-keys-credentials-{suffix}``,
  which the key CLI's task gets, each with a first random password and ``masterarn`` naming
  the master's secret. The roles themselves are the migrations' (app/api), which run before
  the service (one_off_tasks.py) and set a login's password when it cannot log in yet.

Unprotected (``payments:protectData`` false, the default), nothing of it blocks a destroy: no
deletion protection, no final snapshot, no recovery window for the secret, the key's shortest
deletion window. Protected, the data outlives any destroy until someone lifts the protection
on purpose:

- the cluster has RDS deletion protection (a delete fails in AWS, whoever asks), a final
  snapshot ``aurora-cluster-{suffix}-final`` if it is deleted all the same, and Pulumi's
  ``protect`` (no ``pulumi destroy`` and no replacement touches it: the preview fails first);
- its KMS key, with the key's alias (made with the same options), has ``protect``: storage,
  the automated backups, every snapshot of the cluster and the secrets are encrypted with it,
  so a key scheduled for deletion would take them all;
- the master's secret has ``protect`` and a recovery window as long as the key's deletion window
  (``PROTECTED_SECRET_RECOVERY_DAYS``), not the 30 days AWS defaults to: it is encrypted with
  the key, so it could not be restored once the key is gone, and a longer window would only
  keep its name blocked. The logins' secrets are not protected: a new one gets its password
  set by the next migration step.

The way out (docs/deploy.md, "Protecting the data"): keep the data (offline/keep_data.py), turn
the setting off, ``make up`` (which lifts every protection), ``make down``.

The passwords rotate by the stack's own function (db_rotation.py, ``PasswordRotation``),
made by platform.py after the migration step, whose users the logins' rotations change.

The component exposes the secrets (``DatabaseSecret``: ARN and value) and the JSON keys a
task injects, never a value; its
alarms (CPU, memory, connections, replica lag) and dashboard widget for
Observability.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws
import pulumi_random as random

from payments_infra.aws.keys import (
    KEY_DELETION_WINDOW_DAYS,
    customer_managed_key,
    database_key_policy,
)
from payments_infra.aws.logs import log_group
from payments_infra.aws.monitoring import DashboardWidget
from payments_infra.aws.naming import physical_name
from payments_infra.aws.provider import EngineVersion
from payments_infra.aws.security_groups import Connectable
from payments_infra.aws.service_roles import managed_service_role
from payments_infra.aws.tagging import name_tag
from payments_infra.components.aurora import (
    APP_LOGIN,
    BACKUP_WINDOW,
    DATABASE_NAME,
    KEYS_LOGIN,
    MAINTENANCE_WINDOW,
    MASTER_USERNAME,
    MONITORING_INTERVAL_SECONDS,
    MONITORING_POLICY_ARN,
    PASSWORD_SPECIALS,
    PORT,
    SECRET_KEYS,
    DatabaseLogin,
    cluster_parameters,
    database_alarms,
    secret_document,
)
from payments_infra.config import DatabaseSettings

# The protected secret's recovery window (module docstring); unprotected, it goes at once, so
# a destroy followed by an up can reuse the name.
PROTECTED_SECRET_RECOVERY_DAYS = KEY_DELETION_WINDOW_DAYS
UNPROTECTED_SECRET_RECOVERY_DAYS = 0


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
class DatabaseArgs:
    """Inputs of the Database component."""

    environment_suffix: str
    """Ends every physical name. Required."""
    settings: DatabaseSettings
    """Engine version, capacity and backups (StackConfig.database). Required."""
    engine: EngineVersion
    """The exact engine version and its parameter group family. Required."""
    vpc_id: pulumi.Input[str]
    """The VPC of the security group. Required."""
    private_subnet_ids: Sequence[pulumi.Input[str]]
    """The subnets of the DB subnet group: the private ones only. Required."""
    availability_zones: Sequence[str]
    """The zones of those subnets; the writer goes in the first, the reader in the second."""
    account_id: pulumi.Input[str]
    """The AWS account, for the key policy. Required."""
    log_kms_key_arn: pulumi.Input[str]
    """The key every log group of the tier is encrypted with (keys.LogsKey). Required."""


class Database(pulumi.ComponentResource):
    """Aurora PostgreSQL (writer + reader in two zones) with its key, groups and secret."""

    def __init__(
        self, name: str, args: DatabaseArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("payments:database:Database", name, None, opts)
        self._name = name
        self._suffix = suffix = args.environment_suffix
        self._log_kms_key_arn = args.log_kms_key_arn
        self._child = pulumi.ResourceOptions(parent=self)
        self.cluster_identifier = physical_name("db_cluster", self._suffix)
        self._rotating = args.settings.rotation_days > 0
        self.protected = args.settings.protect_data
        # Pulumi's `protect` for the data (the cluster, its key, its secret); nothing when off,
        # so an unprotected stack registers exactly what it did before the setting existed.
        self._protection = (
            pulumi.ResourceOptions(protect=True) if self.protected else pulumi.ResourceOptions()
        )
        self.reader_identifier = physical_name("db_instance_reader", self._suffix)

        self._create_key(args.account_id)
        self._create_security_group(args.vpc_id)
        self._create_cluster(args)
        master = self._create_master_secret()
        self.secrets = DatabaseSecrets(
            master=master,
            app=self._create_login_secret(APP_LOGIN, master),
            keys=self._create_login_secret(KEYS_LOGIN, master),
            secret_keys=dict(SECRET_KEYS),
        )
        self.log_groups = [self._export_logs]
        self.cluster_endpoint = self.cluster.endpoint
        self.cluster_reader_endpoint = self.cluster.reader_endpoint
        self.security_group_id = self.security_group.id
        self.kms_key_arn = self.key.arn
        self.port = PORT
        self.alarms = database_alarms(self.cluster_identifier, self.reader_identifier, suffix)
        self.dashboard_widgets = [
            DashboardWidget(
                "Aurora CPU, connections, capacity",
                [
                    ["AWS/RDS", metric, "DBClusterIdentifier", self.cluster_identifier]
                    for metric in (
                        "CPUUtilization",
                        "DatabaseConnections",
                        "ServerlessDatabaseCapacity",
                    )
                ],
                stat="Average",
            )
        ]
        self.register_outputs(
            {
                "cluster_endpoint": self.cluster_endpoint,
                "cluster_reader_endpoint": self.cluster_reader_endpoint,
                "security_group_id": self.security_group_id,
                "kms_key_arn": self.kms_key_arn,
                "master_secret_arn": self.secrets.master.arn,
                "app_secret_arn": self.secrets.app.arn,
                "keys_secret_arn": self.secrets.keys.arn,
            }
        )

    def _create_key(self, account_id: pulumi.Input[str]) -> None:
        self.key = customer_managed_key(
            f"{self._name}-key",
            description="Aurora storage, Performance Insights and the DB secret of "
            f"{self.cluster_identifier}",
            policy=pulumi.Output.from_input(account_id).apply(database_key_policy),
            name_key="db_kms_key",
            alias_key="db_kms_alias",
            suffix=self._suffix,
            opts=pulumi.ResourceOptions.merge(self._child, self._protection),
        )

    def _create_security_group(self, vpc_id: pulumi.Input[str]) -> None:
        # No rules of its own: no egress, as the database starts no connections (a new group's
        # default allow-all egress rule is removed by the provider when none is declared), and
        # ingress only through ``allow`` from those platform.py lets in.
        self.security_group = aws.ec2.SecurityGroup(
            f"{self._name}-sg",
            aws.ec2.SecurityGroupArgs(
                name=physical_name("db_security_group", self._suffix),
                description="Aurora PostgreSQL: 5432 from the API tasks only",
                vpc_id=vpc_id,
                tags=name_tag(physical_name("db_security_group", self._suffix)),
            ),
            opts=self._child,
        )
        self.connections = Connectable(
            self.security_group.id, self._name, self._suffix, self._child
        )

    def _create_cluster(self, args: DatabaseArgs) -> None:
        subnet_group = aws.rds.SubnetGroup(
            f"{self._name}-subnets",
            aws.rds.SubnetGroupArgs(
                name=physical_name("db_subnet_group", self._suffix),
                description="Private subnets only: the database is never reachable from outside",
                subnet_ids=list(args.private_subnet_ids),
                tags=name_tag(physical_name("db_subnet_group", self._suffix)),
            ),
            opts=self._child,
        )
        parameter_group = aws.rds.ClusterParameterGroup(
            f"{self._name}-params",
            aws.rds.ClusterParameterGroupArgs(
                name=physical_name("db_cluster_parameter_group", self._suffix),
                family=args.engine.parameter_group_family,
                description="TLS only; connection, DDL and slow-statement logging",
                parameters=[
                    # pending-reboot is accepted for static and dynamic parameters alike; at
                    # creation every value is in force from the start.
                    aws.rds.ClusterParameterGroupParameterArgs(
                        name=key, value=value, apply_method="pending-reboot"
                    )
                    for key, value in cluster_parameters().items()
                ],
                tags=name_tag(physical_name("db_cluster_parameter_group", self._suffix)),
            ),
            opts=self._child,
        )
        self._export_logs = export_logs = log_group(
            f"{self._name}-postgresql-logs",
            "db_log_group",
            self._suffix,
            kms_key_arn=self._log_kms_key_arn,
            opts=self._child,
        )
        self.master_password = random.RandomPassword(
            f"{self._name}-master-password",
            random.RandomPasswordArgs(
                length=32, special=True, override_special=PASSWORD_SPECIALS, min_special=2
            ),
            opts=self._child,
        )
        # RDS checks at instance creation that it may assume the role with its policy.
        self.monitoring_role = managed_service_role(
            f"{self._name}-monitoring",
            "db_monitoring",
            service="monitoring.rds.amazonaws.com",
            description="RDS enhanced monitoring: OS metrics of the Aurora instances to "
            "CloudWatch Logs",
            account_id=args.account_id,
            managed_policy_arn=MONITORING_POLICY_ARN,
            suffix=self._suffix,
            opts=self._child,
        )
        settings = args.settings
        self.cluster = aws.rds.Cluster(
            f"{self._name}-cluster",
            aws.rds.ClusterArgs(
                cluster_identifier=self.cluster_identifier,
                engine="aurora-postgresql",
                engine_mode="provisioned",
                engine_version=args.engine.version,
                database_name=DATABASE_NAME,
                master_username=MASTER_USERNAME,
                master_password=pulumi.Output.secret(self.master_password.result),
                port=PORT,
                serverlessv2_scaling_configuration=aws.rds.ClusterServerlessv2ScalingConfigurationArgs(
                    min_capacity=settings.min_capacity, max_capacity=settings.max_capacity
                ),
                db_subnet_group_name=subnet_group.name,
                vpc_security_group_ids=[self.security_group.id],
                db_cluster_parameter_group_name=parameter_group.name,
                storage_encrypted=True,
                kms_key_id=self.key.arn,
                iam_database_authentication_enabled=True,
                backup_retention_period=settings.backup_retention_days,
                preferred_backup_window=BACKUP_WINDOW,
                preferred_maintenance_window=MAINTENANCE_WINDOW,
                copy_tags_to_snapshot=True,
                enabled_cloudwatch_logs_exports=["postgresql"],
                # Unprotected: destroyable with no manual step (docs/architecture.md, design
                # decisions), the backups going with the cluster. Protected: module docstring.
                skip_final_snapshot=not self.protected,
                final_snapshot_identifier=(
                    physical_name("db_final_snapshot", self._suffix) if self.protected else None
                ),
                deletion_protection=self.protected,
                tags=name_tag(self.cluster_identifier),
            ),
            opts=pulumi.ResourceOptions.merge(
                pulumi.ResourceOptions(
                    parent=self,
                    # RDS must find its log group already there, with its retention.
                    depends_on=[export_logs],
                    # Aurora applies minor versions itself in the maintenance window; without
                    # this, the next `pulumi up` would try to take the cluster back down a
                    # version. With rotation on, the password belongs to the rotation function.
                    ignore_changes=["engineVersion"]
                    + (["masterPassword"] if self._rotating else []),
                ),
                self._protection,  # `protect` when payments:protectData is on
            ),
        )
        self.writer = self._create_instance(
            "writer", args.availability_zones[0], promotion_tier=0, engine=args.engine
        )
        # Promotion tier 1 keeps the reader at the writer's capacity (Serverless v2 scales
        # tiers 0 and 1 together), so a failover lands on a warm instance. Aurora makes the
        # first instance that becomes available the writer, whatever its name: the reader is
        # created only after the writer exists, or the names (and the reader-lag alarm) lie.
        self.reader = self._create_instance(
            "reader",
            args.availability_zones[1],
            promotion_tier=1,
            engine=args.engine,
            after=[self.writer],
        )

    def _create_instance(
        self,
        role: str,
        availability_zone: str,
        *,
        promotion_tier: int,
        engine: EngineVersion,
        after: Sequence[pulumi.Resource] = (),
    ) -> aws.rds.ClusterInstance:
        identifier = physical_name(f"db_instance_{role}", self._suffix)
        return aws.rds.ClusterInstance(
            f"{self._name}-{role}",
            aws.rds.ClusterInstanceArgs(
                identifier=identifier,
                cluster_identifier=self.cluster.id,
                engine=aws.rds.EngineType.AURORA_POSTGRESQL,
                engine_version=engine.version,
                instance_class="db.serverless",
                availability_zone=availability_zone,
                promotion_tier=promotion_tier,
                publicly_accessible=False,
                auto_minor_version_upgrade=True,
                performance_insights_enabled=True,
                performance_insights_kms_key_id=self.key.arn,
                performance_insights_retention_period=7,  # the free tier
                monitoring_interval=MONITORING_INTERVAL_SECONDS,
                monitoring_role_arn=self.monitoring_role.role.arn,
                tags=name_tag(identifier),
            ),
            opts=pulumi.ResourceOptions(
                parent=self,
                depends_on=[*after, self.monitoring_role.attachment],
                ignore_changes=["engineVersion"],
            ),
        )

    def _create_master_secret(self) -> DatabaseSecret:
        return self._create_secret(
            "master",
            description=f"Master credentials of {self.cluster_identifier}: the migrations and "
            "the rotation function only",
            password=self.master_password,
            protected=self.protected,
        )

    def _create_login_secret(self, login: DatabaseLogin, master: DatabaseSecret) -> DatabaseSecret:
        """A login's secret: its first random password, and ``masterarn`` for the rotation.
        Unprotected even on a protected stack (module docstring)."""
        password = random.RandomPassword(
            f"{self._name}-{login.role}-password",
            random.RandomPasswordArgs(
                length=32, special=True, override_special=PASSWORD_SPECIALS, min_special=2
            ),
            opts=self._child,
        )
        return self._create_secret(
            login.role,
            description=f"Login {login.username} of {self.cluster_identifier}: {login.description}",
            password=password,
            protected=False,
            username=login.username,
            master_secret_arn=master.arn,
        )

    def _create_secret(
        self,
        role: str,
        *,
        description: str,
        password: random.RandomPassword,
        protected: bool,
        username: str = MASTER_USERNAME,
        master_secret_arn: pulumi.Input[str] | None = None,
    ) -> DatabaseSecret:
        """``db-{role}-credentials-{suffix}`` and its first value (aurora.secret_document)."""
        name = physical_name(f"db_{role}_secret", self._suffix)
        secret = aws.secretsmanager.Secret(
            f"{self._name}-{role}-credentials",
            aws.secretsmanager.SecretArgs(
                name=name,
                description=description,
                kms_key_id=self.key.arn,
                recovery_window_in_days=(
                    PROTECTED_SECRET_RECOVERY_DAYS
                    if protected
                    else UNPROTECTED_SECRET_RECOVERY_DAYS
                ),
                tags=name_tag(name),
            ),
            opts=pulumi.ResourceOptions.merge(
                self._child, self._protection if protected else pulumi.ResourceOptions()
            ),
        )
        value = aws.secretsmanager.SecretVersion(
            f"{self._name}-{role}-credentials-value",
            aws.secretsmanager.SecretVersionArgs(
                secret_id=secret.id,
                secret_string=pulumi.Output.secret(
                    pulumi.Output.all(
                        host=self.cluster.endpoint,
                        password=password.result,
                        master=master_secret_arn,
                    ).apply(
                        lambda v: secret_document(
                            v["host"],
                            v["password"],
                            self.cluster_identifier,
                            username=username,
                            master_secret_arn=v["master"],
                        )
                    )
                ),
            ),
            # With rotation on, the current value is the rotation function's to write; a
            # later `pulumi up` must not put the first password back.
            opts=pulumi.ResourceOptions(
                parent=self, ignore_changes=["secretString"] if self._rotating else []
            ),
        )
        return DatabaseSecret(secret, value)
