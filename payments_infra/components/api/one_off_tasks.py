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
- ``api-keys-{suffix}``: the key CLI (``python -m payments_api.cli.api_keys``), which the key
  operator runs with ``aws ecs run-task`` and a command override (docs/deploy.md, API keys), as the
  login ``payments_keys_cli`` (``db-keys-credentials-{suffix}``): whatever command they give
  it, it can reach the API keys and nothing of the payments.

Why a task rather than a function in the VPC runs the migrations: they are Alembic's, shipped
in the API's image with the drivers built for its platform, so what runs in production is
the artifact the tests ran; a function archive here holds pure-Python wheels only, and
Alembic's templating needs MarkupSafe, which has none. Neither task has a task role: they
call no AWS API themselves.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from payments_infra.aws.logs import log_group
from payments_infra.aws.service_roles import service_role
from payments_infra.aws.tagging import name_tag
from payments_infra.components.api.migration_runner import (
    MIGRATIONS_CONTAINER,
    MigrationRun,
    run_migrations,
)
from payments_infra.components.api.task_definition import (
    execution_policy,
    one_off_container_definitions,
)
from payments_infra.components.database.secrets import DatabaseSecret, DatabaseSecrets
from payments_infra.config import REQUIRED_REGION
from payments_infra.config.naming import Names, PhysicalName, physical_name

MIGRATE_COMMAND = ("python", "-m", "payments_api.migrate")
KEYS_CONTAINER = "keys"
# What the key task runs unless the operator's run-task overrides it: the CLI's usage.
KEYS_COMMAND = ("python", "-m", "payments_api.cli.api_keys", "--help")
# Fargate's smallest size: both run one short process.
ONE_OFF_CPU = 256
ONE_OFF_MEMORY = 512


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
class OneOffTasks:
    migrations: OneOffTask
    migrations_run: MigrationRun
    keys: OneOffTask


def create_one_off_tasks(
    name: str,
    setting: TaskSetting,
    *,
    cluster: aws.ecs.Cluster,
    subnet_ids: Sequence[pulumi.Input[str]],
    security_group_id: pulumi.Input[str],
    secrets: DatabaseSecrets,
    after: Sequence[pulumi.Resource],
) -> OneOffTasks:
    """The migrations' task and its run at deploy time (after ``after``), and the key CLI's
    task, each with the database logins of its job: the master and the two logins' current
    usernames and passwords for the migrations, the key CLI's login for the key task."""
    migrations = one_off_task(
        f"{name}-migrations",
        setting,
        names=MIGRATIONS_NAMES,
        container=MIGRATIONS_CONTAINER,
        command=MIGRATE_COMMAND,
        description="ECS starts the migrations task: pull the image, write its logs, "
        "inject the master and the logins' credentials",
        secrets=[
            *_login_variables(secrets.master, secrets.secret_keys),
            InjectedSecret("APP_DB_USER", secrets.app.arn, "username"),
            InjectedSecret("APP_DB_PASSWORD", secrets.app.arn, "password"),
            InjectedSecret("KEYS_DB_USER", secrets.keys.arn, "username"),
            InjectedSecret("KEYS_DB_PASSWORD", secrets.keys.arn, "password"),
        ],
    )
    migrations_run = run_migrations(
        f"{name}-migrations",
        migrations=migrations,
        cluster=cluster,
        subnet_ids=subnet_ids,
        security_group_id=security_group_id,
        account_id=setting.account_id,
        log_kms_key_arn=setting.log_kms_key_arn,
        suffix=setting.suffix,
        after=after,
        opts=setting.opts,
    )
    keys = one_off_task(
        f"{name}-keys",
        setting,
        names=KEYS_NAMES,
        container=KEYS_CONTAINER,
        command=KEYS_COMMAND,
        description="ECS starts the key CLI's task: pull the image, write its logs, "
        "inject the key CLI's database login",
        secrets=_login_variables(secrets.keys, secrets.secret_keys),
    )
    return OneOffTasks(migrations, migrations_run, keys)


def _login_variables(
    secret: DatabaseSecret, secret_keys: Mapping[str, str]
) -> list[InjectedSecret]:
    """A task's DB_* variables, from ``secret``."""
    return [InjectedSecret(env, secret.arn, json_key) for env, json_key in secret_keys.items()]


@dataclass(frozen=True, kw_only=True)
class OneOffTaskNames:
    """The physical names of a one-off task's pieces (naming.Names)."""

    family: PhysicalName
    log_group: PhysicalName
    execution_role: PhysicalName
    execution_policy: PhysicalName


MIGRATIONS_NAMES = OneOffTaskNames(
    family=Names.migrations_task_family,
    log_group=Names.migrations_log_group,
    execution_role=Names.migrations_execution_role,
    execution_policy=Names.migrations_execution_policy,
)
KEYS_NAMES = OneOffTaskNames(
    family=Names.keys_task_family,
    log_group=Names.keys_log_group,
    execution_role=Names.keys_execution_role,
    execution_policy=Names.keys_execution_policy,
)


def one_off_task(
    name: str,
    setting: TaskSetting,
    *,
    names: OneOffTaskNames,
    container: str,
    command: Sequence[str],
    description: str,
    secrets: Sequence[InjectedSecret],
) -> OneOffTask:
    """A task definition (``names.family``) with its log group and execution role, which
    may read exactly the secrets it injects."""
    suffix, opts, account_id = setting.suffix, setting.opts, setting.account_id
    log_kms_key_arn = setting.log_kms_key_arn
    logs = log_group(
        f"{name}-logs", names.log_group, suffix, kms_key_arn=log_kms_key_arn, opts=opts
    )
    secret_arns = list(dict.fromkeys(secret.secret_arn for secret in secrets))
    role = service_role(
        f"{name}-execution",
        names.execution_role,
        names.execution_policy,
        service="ecs-tasks.amazonaws.com",
        source_arn=lambda account: f"arn:aws:ecs:{REQUIRED_REGION}:{account}:*",
        description=description,
        account_id=account_id,
        policy=pulumi.Output.all(
            secret_arns=pulumi.Output.all(*secret_arns),
            key_arn=setting.db_kms_key_arn,
            log_group_arn=logs.arn,
            repository_arn=setting.repository_arn,
        ).apply(lambda v: execution_policy(**v)),
        suffix=suffix,
        opts=opts,
    )
    family = physical_name(names.family, suffix)
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
                image=setting.image,
                log_group_name=logs.name,
                secrets=pulumi.Output.all(
                    *(
                        pulumi.Output.all(env=s.env, secret_arn=s.secret_arn, json_key=s.json_key)
                        for s in secrets
                    )
                ),
            ).apply(
                lambda v: one_off_container_definitions(
                    name=container,
                    image=v["image"],
                    command=command,
                    log_group_name=v["log_group_name"],
                    secrets=[(s["env"], s["secret_arn"], s["json_key"]) for s in v["secrets"]],
                )
            ),
            tags=name_tag(family),
            # As the service's: an earlier revision stays runnable (an older image's CLI).
            skip_destroy=True,
        ),
        opts=opts,
    )
    return OneOffTask(task_definition, role.role, role.policy, logs)
