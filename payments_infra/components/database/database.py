"""Database component: Aurora PostgreSQL over two zones, encrypted, TLS only, with its secrets.

Its KMS key, subnet group, TLS-only parameter group, the log group RDS exports to (made first,
or RDS makes one that never expires), the Serverless v2 cluster with a writer and a reader in
two zones, and three secrets (secrets.py): the master's, read only by the migrations and the
rotation function, and one per login (aurora.py), whose roles and passwords the migrations
(app/api) make. docs/architecture.md (Database) describes the tier.

Unprotected (``payments:protectData`` false, the default), nothing blocks a destroy. Protected,
the data outlives any destroy until someone lifts the protection on purpose: RDS deletion
protection, a final snapshot, and Pulumi's ``protect`` on the cluster, on its key and alias
(storage, backups, snapshots and secrets are encrypted with it: a key scheduled for deletion
would take them all) and on the master's secret, whose recovery window is the key's deletion
window (``PROTECTED_SECRET_RECOVERY_DAYS``: it could not be restored once the key is gone). The
logins' secrets are not protected (the next migration step sets a new one's password). The way
out: docs/deploy.md, "Protecting the data".
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws
import pulumi_random as random

from payments_infra.aws.access import Custodians
from payments_infra.aws.keys import customer_managed_key
from payments_infra.aws.logs import log_group
from payments_infra.aws.provider import EngineVersion
from payments_infra.aws.service_roles import managed_service_role
from payments_infra.aws.tagging import name_tag
from payments_infra.components.database.aurora import (
    APP_LOGIN,
    BACKUP_WINDOW,
    DATABASE_NAME,
    INSTANCE_NAMES,
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
    database_widget,
    monitored_instance_arns,
    secret_document,
)
from payments_infra.components.database.secrets import (
    PROTECTED_SECRET_RECOVERY_DAYS,
    SECRET_NAMES,
    UNPROTECTED_SECRET_RECOVERY_DAYS,
    DatabaseSecret,
    DatabaseSecrets,
    SecretUsers,
    key_policy,
    restrict_database_secrets,
)
from payments_infra.config import DatabaseSettings
from payments_infra.config.naming import Names, physical_name


@dataclass(frozen=True, kw_only=True)
class DatabaseArgs:
    """Inputs of the Database component."""

    environment_suffix: str
    """Ends every physical name. Required."""
    settings: DatabaseSettings
    """Engine version, capacity and backups (StackConfig.database). Required."""
    engine: EngineVersion
    """The exact engine version and its parameter group family. Required."""
    security_group_id: pulumi.Input[str]
    """The database's group (SecurityGroups.database): who reaches it, platform.py says with
    ``allow``. Required."""
    private_subnet_ids: Sequence[pulumi.Input[str]]
    """The subnets of the DB subnet group: the private ones only. Required."""
    availability_zones: Sequence[str]
    """The zones of those subnets; the writer goes in the first, the reader in the second."""
    account_id: pulumi.Input[str]
    """The AWS account, for the key policy. Required."""
    log_kms_key_arn: pulumi.Input[str]
    """The key every log group of the tier is encrypted with (keys.LogsKey). Required."""
    custodians: Custodians
    """The deployers and break-glass: the key's administrators, admitted to every secret."""


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
        self.cluster_identifier = physical_name(Names.db_cluster, self._suffix)
        self._rotating = args.settings.rotation_days > 0
        self.protected = args.settings.protect_data
        # Pulumi's `protect` for the data (the cluster, its key, the master's secret).
        self._protection = (
            pulumi.ResourceOptions(protect=True) if self.protected else pulumi.ResourceOptions()
        )
        self.reader_identifier = physical_name(Names.db_instance_reader, self._suffix)

        self._users = pulumi.Output.from_input(args.account_id).apply(
            lambda account: SecretUsers.of_the_stack(rotating=self._rotating).arns(account, suffix)
        )
        self._create_key(args.account_id, args.custodians)
        self._create_cluster(args)
        master = self._create_master_secret()
        self.secrets = DatabaseSecrets(
            master=master,
            app=self._create_login_secret(APP_LOGIN, master),
            keys=self._create_login_secret(KEYS_LOGIN, master),
            secret_keys=dict(SECRET_KEYS),
        )
        restrict_database_secrets(name, self.secrets, self._users, args.custodians, self._child)
        self.log_groups = [self._export_logs]
        self.cluster_endpoint = self.cluster.endpoint
        self.cluster_reader_endpoint = self.cluster.reader_endpoint
        self.kms_key_arn = self.key.arn
        self.port = PORT
        self.alarms = database_alarms(self.cluster_identifier, self.reader_identifier, suffix)
        self.dashboard_widgets = [database_widget(self.cluster_identifier)]
        self.register_outputs(
            {
                "cluster_endpoint": self.cluster_endpoint,
                "cluster_reader_endpoint": self.cluster_reader_endpoint,
                "kms_key_arn": self.kms_key_arn,
                "master_secret_arn": self.secrets.master.arn,
                "app_secret_arn": self.secrets.app.arn,
                "keys_secret_arn": self.secrets.keys.arn,
            }
        )

    def _create_key(self, account_id: pulumi.Input[str], custodians: Custodians) -> None:
        self.key = customer_managed_key(
            f"{self._name}-key",
            description="Aurora storage, Performance Insights and the DB secret of "
            f"{self.cluster_identifier}",
            policy=key_policy(account_id, custodians, self._users),
            name=Names.db_kms_key,
            alias=Names.db_kms_alias,
            suffix=self._suffix,
            opts=pulumi.ResourceOptions.merge(self._child, self._protection),
        )

    def _create_cluster(self, args: DatabaseArgs) -> None:
        subnet_group = aws.rds.SubnetGroup(
            f"{self._name}-subnets",
            aws.rds.SubnetGroupArgs(
                name=physical_name(Names.db_subnet_group, self._suffix),
                description="Private subnets only: the database is never reachable from outside",
                subnet_ids=list(args.private_subnet_ids),
                tags=name_tag(physical_name(Names.db_subnet_group, self._suffix)),
            ),
            opts=self._child,
        )
        parameter_group = aws.rds.ClusterParameterGroup(
            f"{self._name}-params",
            aws.rds.ClusterParameterGroupArgs(
                name=physical_name(Names.db_cluster_parameter_group, self._suffix),
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
                tags=name_tag(physical_name(Names.db_cluster_parameter_group, self._suffix)),
            ),
            opts=self._child,
        )
        self._export_logs = export_logs = log_group(
            f"{self._name}-postgresql-logs",
            Names.db_log_group,
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
            Names.db_monitoring_role,
            service="monitoring.rds.amazonaws.com",
            description="RDS enhanced monitoring: the Aurora instances' OS metrics to Logs",
            account_id=args.account_id,
            managed_policy_arn=MONITORING_POLICY_ARN,
            suffix=self._suffix,
            opts=self._child,
            source_arn=lambda account: monitored_instance_arns(account, self._suffix),
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
                vpc_security_group_ids=[args.security_group_id],
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
                    physical_name(Names.db_final_snapshot, self._suffix) if self.protected else None
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
        identifier = physical_name(INSTANCE_NAMES[role], self._suffix)
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
        name = physical_name(SECRET_NAMES[role], self._suffix)
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
