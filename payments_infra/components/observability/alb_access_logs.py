"""AlbAccessLogs component: the ALB's access logs in CloudWatch Logs, 30 days, as JSON.

Creates the log group ``/aws/alb/access/alb-{suffix}`` and, with
``payments:albAccessLogDelivery``:
- ``forwarder`` (the default): a small Lambda (``functions/alb_log_forwarder``, Python,
  arm64) triggered by the log bucket's object-created events, with a least-privilege role,
  its own log group made first, a reserved concurrency (it can neither starve the account's
  other functions nor be starved by them, and a flood of files cannot run up a bill), X-Ray
  active tracing, its environment encrypted with the logs key, an SQS dead-letter queue as
  on-failure destination, and two alarms (errors, dead letters) and a dashboard widget it
  exposes;
- ``native``: CloudWatch vended-log delivery from the ALB (see docs/architecture.md).

The ALB keeps writing its files to its own bucket either way (load_balancer.py); this
component only reads them.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from payments_infra import REPO_ROOT
from payments_infra.aws.function_code import function_sources
from payments_infra.aws.lambda_function import hardened_function
from payments_infra.aws.logs import deliver_to_log_group, log_group
from payments_infra.aws.monitoring import AlarmSpec, DashboardWidget
from payments_infra.aws.options import after
from payments_infra.aws.policies import policy_document, regional_service
from payments_infra.aws.service_roles import service_role
from payments_infra.aws.tagging import name_tag
from payments_infra.config import LogDelivery
from payments_infra.config.naming import Names, physical_name

FORWARDER_SOURCE = REPO_ROOT / "functions" / "alb_log_forwarder"
FORWARDER_MEMORY_MB = 256
FORWARDER_TIMEOUT_SECONDS = 300
# The ALB writes a file per node every five minutes; each takes the forwarder seconds. Five
# at once is ample, and what a deploy takes from the account's unreserved pool (preflight
# checks that at least 100 stay unreserved, as Lambda requires).
FORWARDER_RESERVED_CONCURRENCY = 5
DEAD_LETTER_RETENTION_SECONDS = 14 * 24 * 3600  # the most SQS keeps


@dataclass(frozen=True, kw_only=True)
class AlbAccessLogsArgs:
    """Inputs of the AlbAccessLogs component."""

    environment_suffix: str
    """Ends every physical name. Required."""
    delivery: LogDelivery
    """By the forwarder Lambda or native delivery (payments:albAccessLogDelivery). Required."""
    alb_arn: pulumi.Input[str]
    """The load balancer, the source of native delivery. Required."""
    log_bucket_name: pulumi.Input[str]
    """The bucket the ALB writes its files to, which the forwarder reads. Required."""
    log_bucket_arn: pulumi.Input[str]
    """The same bucket's ARN, for the forwarder's permissions. Required."""
    account_id: pulumi.Input[str]
    """The AWS account, for trust conditions. Required."""
    log_kms_key_arn: pulumi.Input[str]
    """The key the log groups are encrypted with (keys.LogsKey). Required."""


class AlbAccessLogs(pulumi.ComponentResource):
    """The ALB's access logs in CloudWatch: by the forwarder Lambda, or native delivery."""

    def __init__(
        self, name: str, args: AlbAccessLogsArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("payments:observability:AlbAccessLogs", name, None, opts)
        self._name = name
        self._suffix = args.environment_suffix
        self._child = pulumi.ResourceOptions(parent=self)
        self.log_group = log_group(
            f"{name}-group",
            Names.alb_access_log_group,
            self._suffix,
            kms_key_arn=args.log_kms_key_arn,
            opts=self._child,
        )
        self.log_groups = [self.log_group]
        self.alarms: list[AlarmSpec] = []
        self.dashboard_widgets: list[DashboardWidget] = []
        if args.delivery == LogDelivery.NATIVE:
            deliver_to_log_group(
                f"{name}-alb-log",
                log_type="ALB_ACCESS_LOGS",
                source_arn=args.alb_arn,
                log_group_arn=self.log_group.arn,
                names=(Names.alb_log_source, Names.alb_log_destination, Names.alb_log_delivery),
                suffix=self._suffix,
                opts=self._child,
            )
        else:
            self._create_forwarder(args)

        self.log_group_name = self.log_group.name
        self.register_outputs({"log_group_name": self.log_group_name})

    def _create_forwarder(self, args: AlbAccessLogsArgs) -> None:
        function_name = physical_name(Names.alb_log_forwarder, self._suffix)
        queue_name = physical_name(Names.alb_log_forwarder_dlq, self._suffix)
        function_logs = log_group(
            f"{self._name}-forwarder-logs",
            Names.alb_log_forwarder_log_group,
            self._suffix,
            kms_key_arn=args.log_kms_key_arn,
            opts=self._child,
        )
        self.log_groups.append(function_logs)
        dead_letters = aws.sqs.Queue(
            f"{self._name}-forwarder-failures",
            aws.sqs.QueueArgs(
                name=queue_name,
                sqs_managed_sse_enabled=True,
                message_retention_seconds=DEAD_LETTER_RETENTION_SECONDS,
                tags=name_tag(queue_name),
            ),
            opts=self._child,
        )
        role = service_role(
            f"{self._name}-forwarder",
            Names.alb_log_forwarder_role,
            Names.alb_log_forwarder_policy,
            service="lambda.amazonaws.com",
            description="ALB access-log forwarder: read the log files, write one log group",
            account_id=args.account_id,
            policy=pulumi.Output.all(
                bucket_arn=args.log_bucket_arn,
                log_group_arn=self.log_group.arn,
                function_log_group_arn=function_logs.arn,
                queue_arn=dead_letters.arn,
                key_arn=args.log_kms_key_arn,
            ).apply(lambda v: forwarder_policy(**v)),
            suffix=self._suffix,
            opts=self._child,
        )
        forwarder = hardened_function(
            f"{self._name}-forwarder",
            function_name=function_name,
            description="Ships ALB access logs from S3 into CloudWatch Logs as JSON",
            code=pulumi.AssetArchive(
                {n: pulumi.FileAsset(str(p)) for n, p in function_sources(FORWARDER_SOURCE).items()}
            ),
            role=role,
            log_group=function_logs,
            memory_size=FORWARDER_MEMORY_MB,
            timeout=FORWARDER_TIMEOUT_SECONDS,
            reserved_concurrency=FORWARDER_RESERVED_CONCURRENCY,
            environment=aws.lambda_.FunctionEnvironmentArgs(
                variables={"LOG_GROUP_NAME": self.log_group.name}
            ),
            kms_key_arn=args.log_kms_key_arn,
            opts=self._child,
        )
        aws.lambda_.FunctionEventInvokeConfig(
            f"{self._name}-forwarder-failure-destination",
            aws.lambda_.FunctionEventInvokeConfigArgs(
                function_name=forwarder.name,
                maximum_retry_attempts=2,
                destination_config=aws.lambda_.FunctionEventInvokeConfigDestinationConfigArgs(
                    on_failure=aws.lambda_.FunctionEventInvokeConfigDestinationConfigOnFailureArgs(
                        destination=dead_letters.arn
                    )
                ),
            ),
            opts=self._child,
        )
        permission = aws.lambda_.Permission(
            f"{self._name}-forwarder-invoked-by-s3",
            aws.lambda_.PermissionArgs(
                function=forwarder.name,
                action="lambda:InvokeFunction",
                principal="s3.amazonaws.com",
                source_arn=args.log_bucket_arn,
                source_account=args.account_id,
            ),
            opts=self._child,
        )
        aws.s3.BucketNotification(
            f"{self._name}-alb-logs-notification",
            aws.s3.BucketNotificationArgs(
                bucket=args.log_bucket_name,
                lambda_functions=[
                    aws.s3.BucketNotificationLambdaFunctionArgs(
                        lambda_function_arn=forwarder.arn,
                        events=["s3:ObjectCreated:*"],
                        filter_suffix=".log.gz",  # not the ALB's ELBAccessLogTestFile
                    )
                ],
            ),
            # S3 checks at creation that it may invoke the function.
            opts=after(self._child, permission),
        )
        self.alarms += forwarder_alarms(function_name, queue_name, self._suffix)
        self.dashboard_widgets.append(
            DashboardWidget(
                title="ALB log forwarder",
                metrics=[
                    ["AWS/Lambda", "Invocations", "FunctionName", function_name],
                    ["AWS/Lambda", "Errors", "FunctionName", function_name],
                ],
            )
        )


def forwarder_policy(
    bucket_arn: str, log_group_arn: str, function_log_group_arn: str, queue_arn: str, key_arn: str
) -> str:
    """Read the ALB's log files; write to the access-log group and its own; send failures
    and traces; read its own environment."""
    return policy_document(
        {
            "Sid": "ReadAlbLogFiles",
            "Effect": "Allow",
            "Action": ["s3:GetObject"],
            "Resource": [f"{bucket_arn}/AWSLogs/*"],
        },
        {
            "Sid": "WriteAccessLogs",
            "Effect": "Allow",
            "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
            "Resource": [f"{log_group_arn}:*", f"{function_log_group_arn}:*"],
        },
        {
            "Sid": "ReportFailures",
            "Effect": "Allow",
            "Action": ["sqs:SendMessage"],
            "Resource": [queue_arn],
        },
        {
            "Sid": "UseTheLogsKeyThroughLogs",
            "Effect": "Allow",
            "Action": ["kms:GenerateDataKey", "kms:Decrypt"],
            "Resource": [key_arn],
            "Condition": {"StringEquals": {"kms:ViaService": regional_service("logs")}},
        },
        {
            "Sid": "DecryptItsEnvironmentThroughLambda",
            "Effect": "Allow",
            "Action": ["kms:Decrypt"],
            "Resource": [key_arn],
            "Condition": {"StringEquals": {"kms:ViaService": regional_service("lambda")}},
        },
        {
            # What Lambda's active tracing needs (Lambda developer guide, "Execution role
            # permissions" for X-Ray); X-Ray's actions take no resource but "*".
            "Sid": "SendTraces",
            "Effect": "Allow",
            "Action": ["xray:PutTraceSegments", "xray:PutTelemetryRecords"],
            "Resource": ["*"],
        },
    )


def forwarder_alarms(function_name: str, queue_name: str, suffix: str) -> list[AlarmSpec]:
    """The forwarder failing, and files it gave up on. Thresholds: docs/architecture.md."""
    return [
        AlarmSpec(
            name=physical_name(Names.alarm_forwarder_errors, suffix),
            namespace="AWS/Lambda",
            metric="Errors",
            dimensions={"FunctionName": function_name},
            comparison="GreaterThanThreshold",
            threshold=0,
            why="The ALB log forwarder failed: access logs are missing from CloudWatch.",
            action=f"Read {physical_name(Names.alb_log_forwarder_log_group, suffix)} for the error "
            "and fix its cause (permissions, the log group, a new log format); the files it "
            f"gave up on wait in {queue_name}: replay them as docs/deploy.md, On-call: "
            "forwarder failures, says.",
        ),
        AlarmSpec(
            name=physical_name(Names.alarm_forwarder_dead_letters, suffix),
            namespace="AWS/SQS",
            metric="ApproximateNumberOfMessagesVisible",
            dimensions={"QueueName": queue_name},
            comparison="GreaterThanThreshold",
            threshold=0,
            why="Log files the forwarder gave up on: replay them from the dead-letter queue.",
            action="Once alarm-forwarder-errors is fixed, send each message's requestPayload "
            f"back to {function_name} and delete the message (the loop in docs/deploy.md, "
            "On-call: forwarder failures); the queue keeps each "
            f"{DEAD_LETTER_RETENTION_SECONDS // 86400} days.",
            statistic="Maximum",
            evaluation_periods=1,
        ),
    ]
