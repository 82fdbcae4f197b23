"""The migration runner: the function ``pulumi up`` invokes to run the migrations task.

``run_migrations`` makes the function ``db-migrate-{suffix}`` (functions/db_migration_runner:
boto3 only, outside the VPC), its role, its log group, and the ``aws.lambda_.Invocation``
that runs it once per new revision of the migrations' task definition (one_off_tasks.py).
The function starts the task, waits for it to stop, and fails the invocation, so the deploy,
unless the container exited 0; the ECS service depends on the invocation.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pulumi
import pulumi_aws as aws

from payments_infra import REPO_ROOT
from payments_infra.aws.function_code import function_sources
from payments_infra.aws.lambda_function import hardened_function
from payments_infra.aws.logs import log_group
from payments_infra.aws.policies import policy_document
from payments_infra.aws.service_roles import service_role
from payments_infra.config import REQUIRED_REGION
from payments_infra.config.naming import Names, physical_name

if TYPE_CHECKING:
    from payments_infra.components.api.one_off_tasks import OneOffTask

# The container the runner waits for (one_off_tasks.py names it so).
MIGRATIONS_CONTAINER = "migrations"
RUNNER_SOURCE = REPO_ROOT / "functions" / "db_migration_runner"
RUNNER_MEMORY_MB = 128
# Lambda's longest: a Fargate task takes a minute or two to pull and start, and the
# migrations' own locks time out well before (app/api README, Migrations); the runner stops
# the task itself before this ends, so a slow migration fails the deploy instead of running on.
RUNNER_TIMEOUT_SECONDS = 900
# One deploy at a time runs the migrations (the stack's state is locked anyway).
RUNNER_RESERVED_CONCURRENCY = 1


@dataclass(frozen=True)
class MigrationRun:
    invocation: aws.lambda_.Invocation
    """What the service's new tasks wait for."""
    runner_log_group: aws.cloudwatch.LogGroup


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
        Names.migration_runner_log_group,
        suffix,
        kms_key_arn=log_kms_key_arn,
        opts=opts,
    )
    role = service_role(
        f"{name}-runner",
        Names.migration_runner_role,
        Names.migration_runner_policy,
        service="lambda.amazonaws.com",
        description="Runs the migrations task once per deploy and waits for its exit code",
        account_id=account_id,
        policy=pulumi.Output.all(
            account_id=account_id,
            cluster_arn=cluster.arn,
            cluster_name=cluster.name,
            execution_role_arn=migrations.execution_role.arn,
            migrations_log_group_arn=migrations.log_group.arn,
            own_log_group_arn=runner_logs.arn,
        ).apply(
            lambda v: runner_policy(**v, family=physical_name(Names.migrations_task_family, suffix))
        ),
        suffix=suffix,
        opts=opts,
    )
    function = hardened_function(
        f"{name}-runner-function",
        function_name=physical_name(Names.migration_runner_function, suffix),
        description="Runs the database migrations as a one-off ECS task during pulumi up "
        "(functions/db_migration_runner)",
        # boto3 comes with the runtime: the handler is the whole archive.
        code=pulumi.AssetArchive(
            {n: pulumi.FileAsset(str(p)) for n, p in function_sources(RUNNER_SOURCE).items()}
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
                cluster=cluster.arn,
                task_definition=task_definition.arn,
                subnets=pulumi.Output.all(*subnet_ids),
                security_group=security_group_id,
            ).apply(
                lambda v: json.dumps(
                    {
                        "cluster": v["cluster"],
                        "taskDefinition": v["task_definition"],
                        "containerName": MIGRATIONS_CONTAINER,
                        "subnets": list(v["subnets"]),
                        "securityGroups": [v["security_group"]],
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
