"""DbRotation component: the database's passwords change on a schedule, by the
stack's own function.

With ``payments:dbRotationDays`` above 0 (30 by default), platform.py makes it after the
migration step (the logins' users must exist before their first rotation). It deploys
``functions/db_rotation`` (Python, arm64) and a schedule per secret:
- the master's secret ``db-master-credentials-{suffix}`` rotates single-user (only the
  migrations and the function itself use it, at moments of their own);
- each login's secret (``db-app-credentials-{suffix}``, ``db-keys-credentials-{suffix}``)
  rotates with alternating users: the function, logged in as the master, gives the new
  password to the login's other user (``payments_api`` / ``payments_api_clone``), so the user
  running tasks hold keeps working and no connection is ever refused by a rotation;
- the function ``db-password-rotation-{suffix}`` in the private subnets, in the group
  SecurityGroups.db_rotation (platform.py opens its ways: to the database, and HTTPS to the
  Secrets Manager API), its 30-day log group created before it,
  the RDS CA bundle it verifies the database's certificate with, X-Ray active tracing, a
  reserved concurrency of 2 and no environment variables (nothing to encrypt there);
- its role (service_roles.py), allowed exactly what the four rotation steps do: read, write
  and relabel versions of these three secrets, ask Secrets Manager for a random password,
  use the database key only through Secrets Manager, write its log group, and manage its
  network interfaces in the private subnets;
- for each secret, the permission for Secrets Manager to invoke it for that secret only, and
  the rotation schedule, made once the secrets have their first values, the database its
  writer, the migrations have run, and the function its permissions and its way in;
- an alarm on the function's errors (``rotation_alarms``).

Packaging: the function's dependencies (pg8000, a pure-Python PostgreSQL driver, and its own)
are pinned and hash-locked in ``functions/db_rotation/requirements.txt``; ``make venv``
installs that lock on its own, with pip checking every hash, and ``function_code.python_archive``
packs those installed files, checked against the lock's versions and pip's RECORD, next to
``handler.py``. No network and no build step at ``pulumi up`` or under the offline mocks; see
payments_infra/aws/function_code.py.

Unlike AWS's single-user function, which rewrites ``password`` and leaves ``url`` stale, ours
keeps every key of the secret consistent (functions/db_rotation/README.md). With 0 the stack
rotates nothing and says so: ``ROTATION_OFF_WARNING`` (platform.py), in ``pulumi up`` and
``make plan``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from payments_infra import REPO_ROOT
from payments_infra.aws.function_code import function_sources, python_archive
from payments_infra.aws.lambda_function import hardened_function
from payments_infra.aws.logs import log_group
from payments_infra.aws.monitoring import AlarmSpec, DashboardWidget
from payments_infra.aws.options import after
from payments_infra.aws.policies import policy_document, regional_service
from payments_infra.aws.service_roles import service_role
from payments_infra.config import REQUIRED_REGION
from payments_infra.config.naming import Names, physical_name

ROTATION_SOURCE = REPO_ROOT / "functions" / "db_rotation"
ROTATION_LOCK = ROTATION_SOURCE / "requirements.txt"
# The same bundle the API's image verifies the database with (app/api/README.md says how to
# refresh it, with its checksum).
RDS_CA_BUNDLE = REPO_ROOT / "app" / "api" / "certs" / "rds-global-bundle.pem"
ROTATION_MEMORY_MB = 256
# Three TLS logins of at most 10 s each and a few Secrets Manager calls, with room to spare.
ROTATION_TIMEOUT_SECONDS = 60
# Secrets Manager runs one step at a time; the second is for a retry that overlaps a slow
# step. What a deploy takes from the account's unreserved pool.
ROTATION_RESERVED_CONCURRENCY = 2
ROTATION_OFF_WARNING = (
    "payments:dbRotationDays is 0: the database passwords never rotate. PCI DSS 8.3.9 and "
    "8.6.3 expect the passwords of application and system accounts to change periodically; "
    "set payments:dbRotationDays to 1-365 (default 30) unless something else rotates it."
)


@dataclass(frozen=True, kw_only=True)
class DbRotationArgs:
    """Inputs of the DbRotation component."""

    environment_suffix: str
    """Ends every physical name. Required."""
    rotation_days: int
    """Days between two rotations of each secret (payments:dbRotationDays, 1-365). Required."""
    security_group_id: pulumi.Input[str]
    """The function's group (SecurityGroups.db_rotation). Required."""
    network_paths: Sequence[pulumi.Resource]
    """What the function needs before its first run, made by platform.py: the rules that open
    its ways to the database and to Secrets Manager, and the VPC endpoints if any. Required."""
    private_subnet_ids: Sequence[pulumi.Input[str]]
    """Where the function runs. Required."""
    locked_security_group_id: pulumi.Input[str]
    """The VPC's default group, with no rules: what the function is moved to before it is
    deleted, so a destroy does not wait for its network interfaces. Required."""
    account_id: pulumi.Input[str]
    """The AWS account. Required."""
    key_arn: pulumi.Input[str]
    """The database key, which encrypts every secret. Required."""
    log_kms_key_arn: pulumi.Input[str]
    """The key of the function's log group. Required."""
    master_secret: aws.secretsmanager.Secret
    """Rotated single-user; the function also reads it to change the logins' passwords."""
    login_secrets: Sequence[aws.secretsmanager.Secret]
    """Rotated with alternating users (each names the master's in ``masterarn``)."""
    wait_for: Sequence[pulumi.Resource]
    """What the first rotations need: each secret's first value, the writer, and the
    migration step, which creates the logins' users. Required."""


class DbRotation(pulumi.ComponentResource):
    """The rotation function and a schedule per secret, made once ``wait_for`` and the
    function's ``network_paths`` exist."""

    def __init__(
        self, name: str, args: DbRotationArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("payments:database:DbRotation", name, None, opts)
        suffix = args.environment_suffix
        child = pulumi.ResourceOptions(parent=self)
        self.log_group = rotation_logs = log_group(
            f"{name}-logs",
            Names.db_rotation_log_group,
            suffix,
            kms_key_arn=args.log_kms_key_arn,
            opts=child,
        )
        secrets = [args.master_secret, *args.login_secrets]
        role = service_role(
            name,
            Names.db_rotation_role,
            Names.db_rotation_policy,
            service="lambda.amazonaws.com",
            description="Database password rotation: these secrets' versions, the database key "
            "through Secrets Manager, its log group, traces, its network interfaces",
            account_id=args.account_id,
            policy=pulumi.Output.all(
                key_arn=args.key_arn,
                log_group_arn=rotation_logs.arn,
                account_id=args.account_id,
                security_group_id=args.security_group_id,
                secret_arns=pulumi.Output.all(*(secret.arn for secret in secrets)),
                subnet_ids=pulumi.Output.all(*args.private_subnet_ids),
            ).apply(lambda v: rotation_policy(**v)),
            suffix=suffix,
            opts=child,
        )
        function_name = physical_name(Names.db_rotation_function, suffix)
        function = hardened_function(
            f"{name}-function",
            function_name=function_name,
            description="Rotates the database passwords (master single-user, logins "
            "alternating) and keeps every key of each secret consistent (functions/db_rotation)",
            code=rotation_code(),
            role=role,
            log_group=rotation_logs,
            memory_size=ROTATION_MEMORY_MB,
            timeout=ROTATION_TIMEOUT_SECONDS,
            reserved_concurrency=ROTATION_RESERVED_CONCURRENCY,
            # No environment: the password rules are the handler's constants, so there is
            # nothing to encrypt there.
            vpc_config=aws.lambda_.FunctionVpcConfigArgs(
                subnet_ids=list(args.private_subnet_ids),
                security_group_ids=[args.security_group_id],
            ),
            security_group_on_destroy=args.locked_security_group_id,
            opts=child,
        )
        rotated = list(zip(("master", "app", "keys"), secrets, strict=True))
        invoke = [
            aws.lambda_.Permission(
                f"{name}-invoked-for-{which}",
                aws.lambda_.PermissionArgs(
                    function=function.name,
                    action="lambda:InvokeFunction",
                    principal="secretsmanager.amazonaws.com",
                    source_arn=secret.arn,
                    source_account=args.account_id,
                ),
                opts=child,
            )
            for which, secret in rotated
        ]
        for which, secret in rotated:
            aws.secretsmanager.SecretRotation(
                f"{name}-{which}",
                aws.secretsmanager.SecretRotationArgs(
                    secret_id=secret.id,
                    rotation_lambda_arn=function.arn,
                    rotation_rules=aws.secretsmanager.SecretRotationRotationRulesArgs(
                        automatically_after_days=args.rotation_days
                    ),
                ),
                # Secrets Manager rotates once at once: the function must be allowed to run,
                # reach the database and Secrets Manager, and find a first value, a database
                # and (for a login) its two users.
                opts=after(child, *args.wait_for, *invoke, role.policy, *args.network_paths),
            )
        self.log_groups = [rotation_logs]
        self.alarms = rotation_alarms(suffix)
        self.dashboard_widgets: list[DashboardWidget] = []
        self.register_outputs({"function_name": function.name})


def rotation_alarms(suffix: str) -> list[AlarmSpec]:
    """A failed rotation step: Secrets Manager retries it, but the password and the secret
    may disagree until one succeeds (docs/architecture.md, Database)."""
    return [
        AlarmSpec(
            name=physical_name(Names.alarm_db_rotation_errors, suffix),
            namespace="AWS/Lambda",
            metric="Errors",
            dimensions={"FunctionName": physical_name(Names.db_rotation_function, suffix)},
            comparison="GreaterThanThreshold",
            threshold=0,
            why="A password rotation step failed: read the function's log, fix, and rotate again.",
            action=f"Read {physical_name(Names.db_rotation_log_group, suffix)} for the failed step "
            "and its secret, fix its cause (network path, the database down, a password the "
            "secret and the database disagree on, a login's user missing: run the migrations), "
            "then run aws secretsmanager rotate-secret --secret-id <that secret> "
            "(docs/deploy.md, On-call: emergency rotation).",
            period=300,
            evaluation_periods=1,
        )
    ]


def rotation_code() -> pulumi.AssetArchive:
    """handler.py, the RDS CA bundle, and the locked pure-Python packages (pg8000...)."""
    return python_archive(
        {
            **function_sources(ROTATION_SOURCE),
            "rds-global-bundle.pem": RDS_CA_BUNDLE,
        },
        ROTATION_LOCK,
    )


def rotation_policy(
    *,
    secret_arns: Sequence[str],
    key_arn: str,
    log_group_arn: str,
    account_id: str,
    security_group_id: str,
    subnet_ids: Sequence[str],
) -> str:
    """Exactly what the four rotation steps need, on these secrets and this key only. Reading
    the master's secret (an alternating rotation logs in with it) is in RotateTheseSecrets:
    it is rotated too."""
    ec2 = f"arn:aws:ec2:{REQUIRED_REGION}:{account_id}"
    network_interfaces = f"{ec2}:network-interface/*"
    return policy_document(
        {
            "Sid": "RotateTheseSecrets",
            "Effect": "Allow",
            "Action": [
                "secretsmanager:DescribeSecret",
                "secretsmanager:GetSecretValue",
                "secretsmanager:PutSecretValue",
                "secretsmanager:UpdateSecretVersionStage",
            ],
            "Resource": list(secret_arns),
        },
        {
            # GetRandomPassword acts on no resource: IAM accepts only "*" for it.
            "Sid": "GenerateThePassword",
            "Effect": "Allow",
            "Action": ["secretsmanager:GetRandomPassword"],
            "Resource": ["*"],
        },
        {
            "Sid": "UseTheDatabaseKeyThroughSecretsManager",
            "Effect": "Allow",
            "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
            "Resource": [key_arn],
            "Condition": {"StringEquals": {"kms:ViaService": regional_service("secretsmanager")}},
        },
        {
            "Sid": "WriteItsLogs",
            "Effect": "Allow",
            "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
            "Resource": [f"{log_group_arn}:*"],
        },
        {
            # Lambda's network interfaces in the private subnets, with the function's group.
            "Sid": "CreateItsNetworkInterfaces",
            "Effect": "Allow",
            "Action": ["ec2:CreateNetworkInterface"],
            "Resource": [
                network_interfaces,
                f"{ec2}:security-group/{security_group_id}",
                *(f"{ec2}:subnet/{subnet}" for subnet in subnet_ids),
            ],
        },
        {
            "Sid": "ManageItsNetworkInterfaces",
            "Effect": "Allow",
            "Action": [
                "ec2:DeleteNetworkInterface",
                "ec2:AssignPrivateIpAddresses",
                "ec2:UnassignPrivateIpAddresses",
            ],
            "Resource": [network_interfaces],
        },
        {
            # What Lambda's active tracing needs; X-Ray's actions take no resource but "*".
            "Sid": "SendTraces",
            "Effect": "Allow",
            "Action": ["xray:PutTraceSegments", "xray:PutTelemetryRecords"],
            "Resource": ["*"],
        },
        {
            # EC2's Describe actions support no resource-level permissions: "*" only.
            "Sid": "DescribeNetworkInterfaces",
            "Effect": "Allow",
            "Action": ["ec2:DescribeNetworkInterfaces", "ec2:DescribeSubnets"],
            "Resource": ["*"],
        },
    )
