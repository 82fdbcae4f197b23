"""The API image's one-off tasks, part of the ApiService: the migrations and the key CLI.

Both run the service's own image in its cluster, private subnets and security group (the
same paths: the database, the AWS APIs), as the same non-root user with a read-only root
filesystem, each with its own task definition, log group and execution role, and each with
the database credentials of its job only:

- ``migrations-{suffix}``: ``python -m payments_api.migrate`` (app/api/payments_api/migrate.py)
  as the master user (``db-master-credentials-{suffix}``), given the current usernames and
  passwords of the two logins so it can set a login's password the first time. Every deploy
  whose task definition changed (a new image: new migrations) runs it once, BEFORE the
  service's new tasks: the function ``db-migrate-{suffix}`` (functions/db_migration_runner),
  invoked by Pulumi (``aws.lambda_.Invocation``), starts the task, waits for it to stop and
  fails the invocation unless it exited 0. A failed migration therefore fails ``pulumi up``
  before the service is touched: the running tasks keep serving, the migration's one
  transaction is rolled back, and the database keeps its previous version.
- ``api-keys-{suffix}``: the key CLI (``python -m payments_api.keys``), which the key operator
  runs with ``aws ecs run-task`` and a command override (docs/deploy.md, API keys), as the
  login ``payments_keys_cli`` (``db-keys-credentials-{suffix}``): whatever command they give
  it, it can reach the API keys and nothing of the payments.

Why a task rather than a function in the VPC runs the migrations: they are Alembic's, shipped
in the API's image with the drivers built for its platform, so what runs in production is
the artifact the tests ran; a function archive here holds pure-Python wheels only, and
Alembic's templating needs MarkupSafe, which has none. Neither task has a task role: they
call no AWS API themselves.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from payments_infra import REPO_ROOT
from payments_infra.aws.lambda_function import hardened_function
from payments_infra.aws.logs import log_group
from payments_infra.aws.naming import physical_name
from payments_infra.aws.policies import policy_document
from payments_infra.aws.service_roles import service_role
from payments_infra.aws.tagging import name_tag
from payments_infra.components.task_definition import (
    execution_policy,
    one_off_container_definitions,
)
from payments_infra.config import REQUIRED_REGION

MIGRATIONS_CONTAINER = "migrations"
MIGRATE_COMMAND = ("python", "-m", "payments_api.migrate")
KEYS_CONTAINER = "keys"
# What the key task runs unless the operator's run-task overrides it: the CLI's usage.
KEYS_COMMAND = ("python", "-m", "payments_api.keys", "--help")
# Fargate's smallest size: both run one short process.
ONE_OFF_CPU = 256
ONE_OFF_MEMORY = 512
RUNNER_SOURCE = REPO_ROOT / "functions" / "db_migration_runner"
RUNNER_MEMORY_MB = 128
# Lambda's longest: a Fargate task takes a minute or two to pull and start, and the
# migrations' own locks time out well before (app/api README, Migrations); the runner stops
# the task itself before this ends, so a slow migration fails the deploy instead of running on.
RUNNER_TIMEOUT_SECONDS = 900
# One deploy at a time runs the migrations (the stack's state is locked anyway).
RUNNER_RESERVED_CONCURRENCY = 1


@dataclass(frozen=True)
class InjectedSecret:
    """An environment variable a task gets from a key of a secret's JSON."""

    env: str
    secret_arn: pulumi.Input[str]
    json_key: str


@dataclass(frozen=True, kw_only=True)
class TaskSetting:
    """What every one-off task of the stack shares with the service's."""

    image: pulumi.Input[str]
    db_kms_key_arn: pulumi.Input[str]
    """The key of the database's secrets."""
    repository_arn: pulumi.Input[str] | None
    """The image's ECR repository, for the pull permission; None if not ECR."""
    cpu_architecture: str
    account_id: pulumi.Input[str]
    log_kms_key_arn: pulumi.Input[str]
    suffix: str
    opts: pulumi.ResourceOptions


@dataclass(frozen=True)
class OneOffTask:
    task_definition: aws.ecs.TaskDefinition
    execution_role: aws.iam.Role
    execution_policy: aws.iam.RolePolicy
    log_group: aws.cloudwatch.LogGroup


@dataclass(frozen=True)
class MigrationRun:
    invocation: aws.lambda_.Invocation
    """What the service's new tasks wait for."""
    runner_log_group: aws.cloudwatch.LogGroup


def one_off_task(
    name: str,
    setting: TaskSetting,
    *,
    key: str,
    container: str,
    command: Sequence[str],
    description: str,
    secrets: Sequence[InjectedSecret],
) -> OneOffTask:
    """A task definition ``{key}_task_family`` with its log group and execution role, which
    may read exactly the secrets it injects."""
    suffix, opts, account_id = setting.suffix, setting.opts, setting.account_id
    log_kms_key_arn = setting.log_kms_key_arn
    logs = log_group(
        f"{name}-logs", f"{key}_log_group", suffix, kms_key_arn=log_kms_key_arn, opts=opts
    )
    secret_arns = list(dict.fromkeys(secret.secret_arn for secret in secrets))
    role = service_role(
        f"{name}-execution",
        f"{key}_execution",
        service="ecs-tasks.amazonaws.com",
        source_arn=lambda account: f"arn:aws:ecs:{REQUIRED_REGION}:{account}:*",
        description=description,
        account_id=account_id,
        policy=pulumi.Output.all(
            pulumi.Output.all(*secret_arns),
            setting.db_kms_key_arn,
            logs.arn,
            setting.repository_arn,
        ).apply(lambda v: execution_policy(v[0], v[1], v[2], v[3])),
        suffix=suffix,
        opts=opts,
    )
    family = physical_name(f"{key}_task_family", suffix)
    task_definition = aws.ecs.TaskDefinition(
        f"{name}-task",
        aws.ecs.TaskDefinitionArgs(
            family=family,
            cpu=str(ONE_OFF_CPU),
            memory=str(ONE_OFF_MEMORY),
            network_mode="awsvpc",
            requires_compatibilities=["FARGATE"],
            runtime_platform=aws.ecs.TaskDefinitionRuntimePlatformArgs(
                cpu_architecture=setting.cpu_architecture, operating_system_family="LINUX"
            ),
            execution_role_arn=role.role.arn,
            volumes=[aws.ecs.TaskDefinitionVolumeArgs(name="tmp")],
            container_definitions=pulumi.Output.all(
                setting.image,
                logs.name,
                pulumi.Output.all(
                    *(pulumi.Output.all(s.env, s.secret_arn, s.json_key) for s in secrets)
                ),
            ).apply(
                lambda v: one_off_container_definitions(
                    name=container,
                    image=v[0],
                    command=command,
                    log_group_name=v[1],
                    secrets=[tuple(s) for s in v[2]],
                )
            ),
            tags=name_tag(family),
            # As the service's: an earlier revision stays runnable (an older image's CLI).
            skip_destroy=True,
        ),
        opts=opts,
    )
    return OneOffTask(task_definition, role.role, role.policy, logs)


def run_migrations(
    name: str,
    *,
    migrations: OneOffTask,
    cluster: aws.ecs.Cluster,
    subnet_ids: Sequence[pulumi.Input[str]],
    security_group_id: pulumi.Input[str],
    account_id: pulumi.Input[str],
    log_kms_key_arn: pulumi.Input[str],
    suffix: str,
    after: Sequence[pulumi.Resource],
    opts: pulumi.ResourceOptions,
) -> MigrationRun:
    """The runner function, and its invocation: once per new migrations task definition,
    after ``after`` (the database, the secrets' values, the tasks' ways out)."""
    runner_logs = log_group(
        f"{name}-runner-logs",
        "migration_runner_log_group",
        suffix,
        kms_key_arn=log_kms_key_arn,
        opts=opts,
    )
    role = service_role(
        f"{name}-runner",
        "migration_runner",
        service="lambda.amazonaws.com",
        description="Runs the migrations task once per deploy and waits for its exit code",
        account_id=account_id,
        policy=pulumi.Output.all(
            account_id,
            cluster.arn,
            cluster.name,
            migrations.execution_role.arn,
            migrations.log_group.arn,
            runner_logs.arn,
        ).apply(
            lambda v: runner_policy(
                account_id=v[0],
                cluster_arn=v[1],
                cluster_name=v[2],
                execution_role_arn=v[3],
                migrations_log_group_arn=v[4],
                own_log_group_arn=v[5],
                family=physical_name("migrations_task_family", suffix),
            )
        ),
        suffix=suffix,
        opts=opts,
    )
    function = hardened_function(
        f"{name}-runner-function",
        function_name=physical_name("migration_runner_function", suffix),
        description="Runs the database migrations as a one-off ECS task during pulumi up "
        "(functions/db_migration_runner)",
        # boto3 comes with the runtime: the handler is the whole archive.
        code=pulumi.AssetArchive(
            {"handler.py": pulumi.FileAsset(str(RUNNER_SOURCE / "handler.py"))}
        ),
        role=role,
        log_group=runner_logs,
        memory_size=RUNNER_MEMORY_MB,
        timeout=RUNNER_TIMEOUT_SECONDS,
        reserved_concurrency=RUNNER_RESERVED_CONCURRENCY,
        opts=opts,
    )
    task_definition = migrations.task_definition
    invocation = aws.lambda_.Invocation(
        f"{name}-run",
        aws.lambda_.InvocationArgs(
            function_name=function.name,
            input=pulumi.Output.all(
                cluster.arn,
                task_definition.arn,
                pulumi.Output.all(*subnet_ids),
                security_group_id,
            ).apply(
                lambda v: json.dumps(
                    {
                        "cluster": v[0],
                        "taskDefinition": v[1],
                        "containerName": MIGRATIONS_CONTAINER,
                        "subnets": list(v[2]),
                        "securityGroups": [v[3]],
                    }
                )
            ),
            # A new revision (a new image, so perhaps new migrations) runs them again; the
            # same one does not (`pulumi up --replace` this resource to force a run).
            triggers={"taskDefinition": task_definition.arn},
        ),
        opts=pulumi.ResourceOptions.merge(
            opts,
            pulumi.ResourceOptions(depends_on=[*after, migrations.execution_policy, function]),
        ),
    )
    return MigrationRun(invocation, runner_logs)


def runner_policy(
    *,
    account_id: str,
    cluster_arn: str,
    cluster_name: str,
    execution_role_arn: str,
    migrations_log_group_arn: str,
    own_log_group_arn: str,
    family: str,
) -> str:
    """Run the migrations task in this cluster, watch it, stop it, read its log; nothing else."""
    ecs = f"arn:aws:ecs:{REQUIRED_REGION}:{account_id}"
    return policy_document(
        {
            "Sid": "RunTheMigrationsTask",
            "Effect": "Allow",
            "Action": ["ecs:RunTask"],
            "Resource": [f"{ecs}:task-definition/{family}:*"],
            "Condition": {"ArnEquals": {"ecs:cluster": cluster_arn}},
        },
        {
            # The runner propagates the task definition's tags to the task, which ECS checks
            # as tagging on creation (ECS guide, "Grant permission to tag resources on
            # creation"; AWS's own AmazonEC2ContainerServiceEventsRole grants the same).
            "Sid": "TagTheTaskItStarts",
            "Effect": "Allow",
            "Action": ["ecs:TagResource"],
            "Resource": [f"{ecs}:task/{cluster_name}/*"],
            "Condition": {"StringEquals": {"ecs:CreateAction": "RunTask"}},
        },
        {
            "Sid": "PassItsExecutionRole",
            "Effect": "Allow",
            "Action": ["iam:PassRole"],
            "Resource": [execution_role_arn],
            "Condition": {"StringEquals": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}},
        },
        {
            "Sid": "WatchAndStopIt",
            "Effect": "Allow",
            "Action": ["ecs:DescribeTasks", "ecs:StopTask"],
            "Resource": [f"{ecs}:task/{cluster_name}/*"],
        },
        {
            # DescribeTaskDefinition supports no resource-level permissions: "*" only.
            "Sid": "ReadWhereItLogs",
            "Effect": "Allow",
            "Action": ["ecs:DescribeTaskDefinition"],
            "Resource": ["*"],
        },
        {
            "Sid": "ReadItsLog",
            "Effect": "Allow",
            "Action": ["logs:GetLogEvents"],
            "Resource": [f"{migrations_log_group_arn}:*"],
        },
        {
            "Sid": "WriteItsOwnLogs",
            "Effect": "Allow",
            "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
            "Resource": [f"{own_log_group_arn}:*"],
        },
        {
            # What Lambda's active tracing needs; X-Ray's actions take no resource but "*".
            "Sid": "SendTraces",
            "Effect": "Allow",
            "Action": ["xray:PutTraceSegments", "xray:PutTelemetryRecords"],
            "Resource": ["*"],
        },
    )
