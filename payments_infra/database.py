"""Database component: Aurora PostgreSQL over two zones, encrypted, TLS only, with its secret.

Creates:
- a customer-managed KMS key (rotation on, 7-day deletion window) and its alias
  ``alias/aurora-{suffix}``; its policy lets the account administer it and lets principals of
  the account use it only through RDS and Secrets Manager;
- the security group ``db-sg-{suffix}``: ingress on 5432 from the API tasks' group only,
  no egress;
- a DB subnet group over the private subnets only;
- a cluster parameter group that forces TLS (``rds.force_ssl``, TLS 1.2 or newer) and logs
  connections, disconnections, DDL, lock waits and statements slower than a second;
- the log group RDS exports to, created first with 30-day retention so that RDS does not
  create one that never expires and outlives the stack;
- the Aurora PostgreSQL cluster ``aurora-cluster-{suffix}`` (Serverless v2, storage encrypted
  with the key, IAM database authentication, 7+ days of backups, no deletion protection, no
  final snapshot) with a writer and a reader placed in two different zones;
- the master password (``pulumi_random``, a Pulumi secret end to end) and the Secrets
  Manager secret ``db-credentials-{suffix}`` (the key above, no recovery window) holding the
  JSON AWS's rotation functions use plus ``url``, a ``postgresql://`` connection string.

With ``payments:dbRotationDays`` above 0 it also deploys AWS's single-user PostgreSQL
rotation function (from the Serverless Application Repository) into the private subnets,
with its own security group and a 30-day log group made first, and a rotation schedule.

The component exposes the secret's ARN and the JSON keys a task injects, never a value.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws
import pulumi_random as random

from payments_infra.config import REQUIRED_REGION, DatabaseSettings
from payments_infra.keys import customer_managed_key
from payments_infra.logs import log_group
from payments_infra.naming import physical_name
from payments_infra.policies import key_admin_statement
from payments_infra.provider import EngineVersion
from payments_infra.security_groups import security_group_rule
from payments_infra.tagging import name_tag

DATABASE_NAME = "payments"
MASTER_USERNAME = "payments_admin"
PORT = 5432
# Environment variable -> key of the secret's JSON, as the API reads them (app/api README).
SECRET_KEYS = {
    "DB_HOST": "host",
    "DB_PORT": "port",
    "DB_NAME": "dbname",
    "DB_USER": "username",
    "DB_PASSWORD": "password",
}
# Only URL-unreserved punctuation: the password goes into a URL and an environment variable
# unescaped, and Aurora refuses "/", '"', "@" and spaces anyway.
PASSWORD_SPECIALS = "-_.~"
# UTC. Backups at night in the US, maintenance an hour later on Sunday: they must not overlap.
BACKUP_WINDOW = "07:00-08:00"
MAINTENANCE_WINDOW = "sun:08:30-sun:09:30"
# Statements at least this slow are logged, in milliseconds.
SLOW_STATEMENT_MS = 1000
# AWS's rotation function for one PostgreSQL user (Secrets Manager docs, "rotation function
# templates"); it expects the secret JSON that secret_document writes.
ROTATION_APPLICATION_ID = (
    "arn:aws:serverlessrepo:us-east-1:297356227824:applications/"
    "SecretsManagerRDSPostgreSQLRotationSingleUser"
)
# Characters the rotation function must not put in a new password: the ones AWS excludes by
# default, plus those that would need escaping in a connection URL.
ROTATION_EXCLUDED_CHARACTERS = "/@\"'\\:?#[]%&+=;, "

KEY_USE_ACTIONS = [
    "kms:CreateGrant",
    "kms:Decrypt",
    "kms:DescribeKey",
    "kms:Encrypt",
    "kms:GenerateDataKey",
    "kms:GenerateDataKeyWithoutPlaintext",
    "kms:ReEncryptFrom",
    "kms:ReEncryptTo",
]
KEY_SERVICES = [
    f"rds.{REQUIRED_REGION}.amazonaws.com",
    f"secretsmanager.{REQUIRED_REGION}.amazonaws.com",
]


def database_key_policy(account_id: str) -> str:
    """The key's policy: administration by the account, use only through RDS and Secrets Manager.

    The account root principal delegates to IAM, so who may administer or use the key is then
    decided by IAM policies; the ``kms:ViaService`` condition means even they can use it only
    through those two services, never to decrypt data directly.
    """
    account_root = f"arn:aws:iam::{account_id}:root"
    statements = [
        key_admin_statement(account_id),
        {
            "Sid": "UseThroughRdsAndSecretsManager",
            "Effect": "Allow",
            "Principal": {"AWS": account_root},
            "Action": KEY_USE_ACTIONS,
            "Resource": "*",
            "Condition": {
                "StringEquals": {"kms:ViaService": KEY_SERVICES, "kms:CallerAccount": account_id}
            },
        },
    ]
    return json.dumps({"Version": "2012-10-17", "Statement": statements})


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
    client_security_group_id: pulumi.Input[str]
    """The only group allowed in on 5432: the API tasks'. Required."""
    account_id: pulumi.Input[str]
    """The AWS account, for the key policy. Required."""
    log_kms_key_arn: pulumi.Input[str]
    """The key every log group of the tier is encrypted with (observability.py). Required."""


class Database(pulumi.ComponentResource):
    """Aurora PostgreSQL (writer + reader in two zones) with its key, groups and secret."""

    def __init__(
        self, name: str, args: DatabaseArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("payments:database:Database", name, None, opts)
        self._name = name
        self._suffix = args.environment_suffix
        self._log_kms_key_arn = args.log_kms_key_arn
        self._child = pulumi.ResourceOptions(parent=self)
        self.cluster_identifier = physical_name("db_cluster", self._suffix)
        self._rotating = args.settings.rotation_days > 0
        self.reader_identifier = physical_name("db_instance_reader", self._suffix)

        self._create_key(args.account_id)
        self._create_security_group(args.vpc_id, args.client_security_group_id)
        self._create_cluster(args)
        self._create_secret()
        self.log_groups = [self._export_logs]
        if self._rotating:
            self._create_rotation(args)

        self.cluster_endpoint = self.cluster.endpoint
        self.cluster_reader_endpoint = self.cluster.reader_endpoint
        self.security_group_id = self.security_group.id
        self.kms_key_arn = self.key.arn
        self.secret_arn = self.secret.arn
        self.secret_keys = dict(SECRET_KEYS)
        self.register_outputs(
            {
                "cluster_endpoint": self.cluster_endpoint,
                "cluster_reader_endpoint": self.cluster_reader_endpoint,
                "security_group_id": self.security_group_id,
                "kms_key_arn": self.kms_key_arn,
                "secret_arn": self.secret_arn,
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
            parent=self,
        )

    def _create_security_group(
        self, vpc_id: pulumi.Input[str], client_security_group_id: pulumi.Input[str]
    ) -> None:
        # No egress rules: the database starts no connections. (A new group's default
        # allow-all egress rule is removed by the provider when none is declared.)
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
        self._postgres_rule(
            "ingress-from-api-tasks",
            "ingress",
            "db_ingress_from_tasks",
            security_group_id=self.security_group.id,
            referenced_security_group_id=client_security_group_id,
            description="PostgreSQL over TLS from the API tasks",
        )

    def _postgres_rule(self, key: str, direction: str, name_key: str, **rule: Any) -> None:
        """A rule for TCP 5432, the only port the database tier opens."""
        security_group_rule(
            f"{self._name}-{key}",
            direction,
            name_key,
            self._suffix,
            parent=self,
            ip_protocol="tcp",
            from_port=PORT,
            to_port=PORT,
            **rule,
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
            parent=self,
        )
        self.master_password = random.RandomPassword(
            f"{self._name}-master-password",
            random.RandomPasswordArgs(
                length=32, special=True, override_special=PASSWORD_SPECIALS, min_special=2
            ),
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
                # Destroyable with no manual step (DESIGN.md §4): backups go with the cluster.
                skip_final_snapshot=True,
                deletion_protection=False,
                tags=name_tag(self.cluster_identifier),
            ),
            opts=pulumi.ResourceOptions(
                parent=self,
                # RDS must find its log group already there, with its retention.
                depends_on=[export_logs],
                # Aurora applies minor versions itself in the maintenance window; without
                # this, the next `pulumi up` would try to take the cluster back down a version.
                # With rotation on, the password belongs to the rotation function.
                ignore_changes=["engineVersion"] + (["masterPassword"] if self._rotating else []),
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
                tags=name_tag(identifier),
            ),
            opts=pulumi.ResourceOptions(
                parent=self, depends_on=list(after), ignore_changes=["engineVersion"]
            ),
        )

    def _create_secret(self) -> None:
        self.secret = aws.secretsmanager.Secret(
            f"{self._name}-credentials",
            aws.secretsmanager.SecretArgs(
                name=physical_name("db_secret", self._suffix),
                description=f"Master credentials and connection URL of {self.cluster_identifier}",
                kms_key_id=self.key.arn,
                # Deleted at once, so a destroy followed by an up can reuse the name.
                recovery_window_in_days=0,
                tags=name_tag(physical_name("db_secret", self._suffix)),
            ),
            opts=self._child,
        )
        self.secret_version = aws.secretsmanager.SecretVersion(
            f"{self._name}-credentials-value",
            aws.secretsmanager.SecretVersionArgs(
                secret_id=self.secret.id,
                secret_string=pulumi.Output.secret(
                    pulumi.Output.all(
                        host=self.cluster.endpoint,
                        password=self.master_password.result,
                    ).apply(
                        lambda v: secret_document(v["host"], v["password"], self.cluster_identifier)
                    )
                ),
            ),
            # With rotation on, the current value is the rotation function's to write; a
            # later `pulumi up` must not put the first password back.
            opts=pulumi.ResourceOptions(
                parent=self, ignore_changes=["secretString"] if self._rotating else []
            ),
        )

    def _create_rotation(self, args: DatabaseArgs) -> None:
        """AWS's rotation function in the private subnets, reaching the database and the
        Secrets Manager API (through the NAT gateways), and the schedule that runs it."""
        function_name = physical_name("db_rotation_function", self._suffix)
        rotation_sg = aws.ec2.SecurityGroup(
            f"{self._name}-rotation-sg",
            aws.ec2.SecurityGroupArgs(
                name=physical_name("db_rotation_security_group", self._suffix),
                description="Password rotation function: out to the database and AWS APIs only",
                vpc_id=args.vpc_id,
                tags=name_tag(physical_name("db_rotation_security_group", self._suffix)),
            ),
            opts=self._child,
        )
        self._postgres_rule(
            "rotation-to-db",
            "egress",
            "db_rotation_egress_to_db",
            security_group_id=rotation_sg.id,
            referenced_security_group_id=self.security_group.id,
            description="PostgreSQL, to change the password",
        )
        security_group_rule(
            f"{self._name}-rotation-to-https",
            "egress",
            "db_rotation_egress_to_aws",
            self._suffix,
            parent=self,
            security_group_id=rotation_sg.id,
            cidr_ipv4="0.0.0.0/0",
            ip_protocol="tcp",
            from_port=443,
            to_port=443,
            description="HTTPS to the Secrets Manager API, through the NAT gateways",
        )
        self._postgres_rule(
            "ingress-from-rotation",
            "ingress",
            "db_ingress_from_rotation",
            security_group_id=self.security_group.id,
            referenced_security_group_id=rotation_sg.id,
            description="PostgreSQL over TLS from the password rotation function",
        )
        rotation_logs = log_group(
            f"{self._name}-rotation-logs",
            "db_rotation_log_group",
            self._suffix,
            kms_key_arn=self._log_kms_key_arn,
            parent=self,
        )
        rotation_app = aws.serverlessrepository.CloudFormationStack(
            f"{self._name}-rotation",
            aws.serverlessrepository.CloudFormationStackArgs(
                name=physical_name("db_rotation_stack", self._suffix),
                application_id=ROTATION_APPLICATION_ID,
                capabilities=["CAPABILITY_IAM", "CAPABILITY_RESOURCE_POLICY"],
                parameters={
                    "functionName": function_name,
                    "endpoint": f"https://secretsmanager.{REQUIRED_REGION}.amazonaws.com",
                    "kmsKeyArn": self.key.arn,
                    "vpcSubnetIds": pulumi.Output.all(*args.private_subnet_ids).apply(",".join),
                    "vpcSecurityGroupIds": rotation_sg.id,
                    "excludeCharacters": ROTATION_EXCLUDED_CHARACTERS,
                },
                tags=name_tag(physical_name("db_rotation_stack", self._suffix)),
            ),
            # The function's log group must exist before the function first runs.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[rotation_logs]),
        )
        self.log_groups.append(rotation_logs)
        aws.secretsmanager.SecretRotation(
            f"{self._name}-credentials-rotation",
            aws.secretsmanager.SecretRotationArgs(
                secret_id=self.secret.id,
                rotation_lambda_arn=rotation_app.outputs.apply(
                    lambda outputs: outputs["RotationLambdaARN"]
                ),
                rotation_rules=aws.secretsmanager.SecretRotationRotationRulesArgs(
                    automatically_after_days=args.settings.rotation_days
                ),
            ),
            # Rotating before the first value exists would rotate nothing.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.secret_version, self.writer]),
        )


def cluster_parameters() -> dict[str, str]:
    """The cluster parameter group's values: TLS only, and what an assessor wants logged."""
    return {
        "rds.force_ssl": "1",
        "ssl_min_protocol_version": "TLSv1.2",
        "log_connections": "1",
        "log_disconnections": "1",
        "log_statement": "ddl",
        "log_lock_waits": "1",
        "log_min_duration_statement": str(SLOW_STATEMENT_MS),
    }


def secret_document(host: str, password: str, cluster_identifier: str) -> str:
    """The secret's JSON: the shape AWS's PostgreSQL rotation functions use, plus ``url``."""
    return json.dumps(
        {
            "engine": "postgres",
            "host": host,
            "port": PORT,
            "username": MASTER_USERNAME,
            "password": password,
            "dbname": DATABASE_NAME,
            "dbClusterIdentifier": cluster_identifier,
            "url": f"postgresql://{MASTER_USERNAME}:{password}@{host}:{PORT}/{DATABASE_NAME}"
            "?sslmode=verify-full",
        }
    )
