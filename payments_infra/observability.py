"""Observability: the logs key, ALB access logs in CloudWatch, alarms to SNS, one dashboard.

``LogsKey`` (created first, before every tier) is the customer-managed KMS key every log group
and the alerts topic are encrypted with. Its policy lets the regional CloudWatch Logs service
use it only for this account's log groups (encryption-context condition) and lets CloudWatch
alarms publish to the encrypted topic.

``Observability`` (created last) adds:
- ALB access logs in CloudWatch (``/aws/alb/access/alb-{suffix}``, 30 days): by default a
  small Lambda (``functions/alb_log_forwarder``, Python, arm64) triggered by the log bucket's
  object-created events, with a least-privilege role, its own log group made first, and an SQS
  dead-letter queue as on-failure destination with an alarm; or, with
  ``payments:albAccessLogDelivery: native``, CloudWatch vended-log delivery (see
  docs/architecture.md);
- the SNS topic ``alerts-{suffix}`` (KMS) with e-mail subscriptions from ``alertEmails``;
- the alarms of ``alarm_specs`` (each with its reason), all sending to the topic;
- the CloudWatch dashboard ``payments-{suffix}``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pulumi
import pulumi_aws as aws

from payments_infra.buckets import private_bucket
from payments_infra.config import REQUIRED_REGION
from payments_infra.keys import customer_managed_key
from payments_infra.logs import deliver_to_log_group, log_group
from payments_infra.naming import per_az_name, physical_name
from payments_infra.policies import (
    deny_insecure_transport,
    key_admin_statement,
    policy_document,
)
from payments_infra.tagging import name_tag

FORWARDER_SOURCE = Path(__file__).resolve().parent.parent / "functions" / "alb_log_forwarder"
LOGS_SERVICE = f"logs.{REQUIRED_REGION}.amazonaws.com"


def logs_key_policy(account_id: str) -> str:
    """Administration by the account; use by CloudWatch Logs for this account's log groups,
    by CloudWatch alarms and SNS for the alerts topic, and nobody else."""
    return policy_document(
        key_admin_statement(account_id),
        {
            "Sid": "CloudWatchLogsEncryptsThisAccountsLogGroups",
            "Effect": "Allow",
            "Principal": {"Service": LOGS_SERVICE},
            "Action": [
                "kms:Decrypt",
                "kms:DescribeKey",
                "kms:Encrypt",
                "kms:GenerateDataKey",
                "kms:GenerateDataKeyWithoutPlaintext",
                "kms:ReEncryptFrom",
                "kms:ReEncryptTo",
            ],
            "Resource": "*",
            "Condition": {
                "ArnLike": {
                    "kms:EncryptionContext:aws:logs:arn": (
                        f"arn:aws:logs:{REQUIRED_REGION}:{account_id}:log-group:*"
                    )
                }
            },
        },
        {
            "Sid": "AlarmsPublishToTheEncryptedTopic",
            "Effect": "Allow",
            "Principal": {"Service": "cloudwatch.amazonaws.com"},
            "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
            "Resource": "*",
            "Condition": {"StringEquals": {"aws:SourceAccount": account_id}},
        },
        {
            "Sid": "UseThroughSns",
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:aws:iam::{account_id}:root"},
            "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
            "Resource": "*",
            "Condition": {
                "StringEquals": {
                    "kms:ViaService": f"sns.{REQUIRED_REGION}.amazonaws.com",
                    "kms:CallerAccount": account_id,
                }
            },
        },
    )


@dataclass(frozen=True, kw_only=True)
class LogsKeyArgs:
    """Inputs of the LogsKey component."""

    environment_suffix: str
    """Ends every physical name. Required."""
    account_id: pulumi.Input[str]
    """The AWS account, for the key policy. Required."""


class LogsKey(pulumi.ComponentResource):
    """The customer-managed key of every log group and of the alerts topic."""

    def __init__(
        self, name: str, args: LogsKeyArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("payments:observability:LogsKey", name, None, opts)
        self.key = customer_managed_key(
            f"{name}-key",
            description="CloudWatch Logs groups and the alerts topic of the payments stack",
            policy=pulumi.Output.from_input(args.account_id).apply(logs_key_policy),
            name_key="logs_kms_key",
            alias_key="logs_kms_alias",
            suffix=args.environment_suffix,
            parent=self,
        )
        self.key_arn = self.key.arn
        self.register_outputs({"key_arn": self.key_arn})


@dataclass(frozen=True)
class AlarmSpec:
    """One alarm: what it watches, when it fires, and why it exists."""

    name: str
    namespace: str
    metric: str
    dimensions: Mapping[str, pulumi.Input[str]]
    comparison: str
    threshold: float
    why: str
    statistic: str = "Sum"
    period: int = 60
    evaluation_periods: int = 5
    treat_missing_data: str = "notBreaching"
    extended_statistic: str | None = None


@dataclass(frozen=True, kw_only=True)
class ObservabilityArgs:
    """Inputs of the Observability component: names and ids of what it watches."""

    environment_suffix: str
    log_kms_key_arn: pulumi.Input[str]
    alert_emails: Sequence[str]
    alb_log_delivery: str
    account_id: pulumi.Input[str]
    availability_zones: Sequence[str]
    alb_arn: pulumi.Input[str]
    alb_arn_suffix: pulumi.Input[str]
    target_group_arn_suffix: pulumi.Input[str]
    alb_logs_bucket: pulumi.Input[str]
    alb_logs_bucket_arn: pulumi.Input[str]
    ecs_cluster_name: pulumi.Input[str]
    ecs_service_name: pulumi.Input[str]
    db_cluster_identifier: str
    db_reader_identifier: str
    nat_gateway_ids: Sequence[pulumi.Input[str]]
    web_acl_name: pulumi.Input[str]
    distribution_id: pulumi.Input[str]
    log_archive: str = "none"
    archived_log_groups: Sequence[aws.cloudwatch.LogGroup] = ()


# The Lambda's own settings.
FORWARDER_MEMORY_MB = 256
FORWARDER_TIMEOUT_SECONDS = 300
RUNNING_TASKS_MINIMUM = 3
# PCI DSS 10.5.1: a year of audit-log history, the last three months immediately available.
ARCHIVE_DAYS = 365
ARCHIVE_HOT_DAYS = 90


class Observability(pulumi.ComponentResource):
    """ALB access logs into CloudWatch, the alerts topic, the alarms and the dashboard."""

    def __init__(
        self, name: str, args: ObservabilityArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("payments:observability:Observability", name, None, opts)
        self._name = name
        self._suffix = args.environment_suffix
        self._child = pulumi.ResourceOptions(parent=self)

        self._create_topic(args)
        self.access_log_group = log_group(
            f"{name}-alb-access-logs",
            "alb_access_log_group",
            self._suffix,
            kms_key_arn=args.log_kms_key_arn,
            parent=self,
        )
        self.forwarder_function_name: str | None = None
        self.log_groups = [self.access_log_group]
        if args.alb_log_delivery == "native":
            self._create_native_delivery(args)
        else:
            self._create_forwarder(args)
        self.alarms = [self._create_alarm(spec) for spec in alarm_specs(args, self)]
        if args.log_archive == "s3":
            self._create_archive(args, [*args.archived_log_groups, *self.log_groups])
        self._create_dashboard(args)

        self.topic_arn = self.topic.arn
        self.register_outputs(
            {
                "topic_arn": self.topic_arn,
                "access_log_group": self.access_log_group.name,
                "alarm_count": len(self.alarms),
            }
        )

    def _create_topic(self, args: ObservabilityArgs) -> None:
        name = physical_name("alerts_topic", self._suffix)
        self.topic = aws.sns.Topic(
            f"{self._name}-alerts",
            aws.sns.TopicArgs(
                name=name, kms_master_key_id=args.log_kms_key_arn, tags=name_tag(name)
            ),
            opts=self._child,
        )
        for index, email in enumerate(args.alert_emails):
            # Each address gets a confirmation mail; nothing arrives until it is confirmed.
            aws.sns.TopicSubscription(
                f"{self._name}-alerts-email-{index}",
                aws.sns.TopicSubscriptionArgs(
                    topic=self.topic.arn, protocol="email", endpoint=email
                ),
                opts=self._child,
            )

    def _create_forwarder(self, args: ObservabilityArgs) -> None:
        function_name = physical_name("alb_log_forwarder", self._suffix)
        self.forwarder_function_name = function_name
        function_logs = log_group(
            f"{self._name}-forwarder-logs",
            "alb_log_forwarder_log_group",
            self._suffix,
            kms_key_arn=args.log_kms_key_arn,
            parent=self,
        )
        self.log_groups.append(function_logs)
        self.dead_letters = aws.sqs.Queue(
            f"{self._name}-forwarder-failures",
            aws.sqs.QueueArgs(
                name=physical_name("alb_log_forwarder_dlq", self._suffix),
                sqs_managed_sse_enabled=True,
                message_retention_seconds=14 * 24 * 3600,  # the most SQS keeps
                tags=name_tag(physical_name("alb_log_forwarder_dlq", self._suffix)),
            ),
            opts=self._child,
        )
        role = aws.iam.Role(
            f"{self._name}-forwarder-role",
            aws.iam.RoleArgs(
                name=physical_name("alb_log_forwarder_role", self._suffix),
                description="ALB access-log forwarder: read the log files, write one log group",
                assume_role_policy=pulumi.Output.from_input(args.account_id).apply(
                    lambda account: policy_document(
                        {
                            "Effect": "Allow",
                            "Principal": {"Service": "lambda.amazonaws.com"},
                            "Action": "sts:AssumeRole",
                            "Condition": {"StringEquals": {"aws:SourceAccount": account}},
                        }
                    )
                ),
                tags=name_tag(physical_name("alb_log_forwarder_role", self._suffix)),
            ),
            opts=self._child,
        )
        aws.iam.RolePolicy(
            f"{self._name}-forwarder-policy",
            aws.iam.RolePolicyArgs(
                name=physical_name("alb_log_forwarder_policy", self._suffix),
                role=role.id,
                policy=pulumi.Output.all(
                    args.alb_logs_bucket_arn,
                    self.access_log_group.arn,
                    function_logs.arn,
                    self.dead_letters.arn,
                    args.log_kms_key_arn,
                ).apply(lambda values: forwarder_policy(*values)),
            ),
            opts=self._child,
        )
        self.forwarder = aws.lambda_.Function(
            f"{self._name}-forwarder",
            aws.lambda_.FunctionArgs(
                name=function_name,
                description="Ships ALB access logs from S3 into CloudWatch Logs as JSON",
                runtime="python3.12",
                architectures=["arm64"],
                handler="handler.handler",
                code=pulumi.AssetArchive(
                    {"handler.py": pulumi.FileAsset(str(FORWARDER_SOURCE / "handler.py"))}
                ),
                role=role.arn,
                memory_size=FORWARDER_MEMORY_MB,
                timeout=FORWARDER_TIMEOUT_SECONDS,
                environment=aws.lambda_.FunctionEnvironmentArgs(
                    variables={"LOG_GROUP_NAME": self.access_log_group.name}
                ),
                logging_config=aws.lambda_.FunctionLoggingConfigArgs(
                    log_format="Text", log_group=function_logs.name
                ),
                tags=name_tag(function_name),
            ),
            # The function's log group must exist before its first run creates one forever.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[function_logs]),
        )
        aws.lambda_.FunctionEventInvokeConfig(
            f"{self._name}-forwarder-failure-destination",
            aws.lambda_.FunctionEventInvokeConfigArgs(
                function_name=self.forwarder.name,
                maximum_retry_attempts=2,
                destination_config=aws.lambda_.FunctionEventInvokeConfigDestinationConfigArgs(
                    on_failure=aws.lambda_.FunctionEventInvokeConfigDestinationConfigOnFailureArgs(
                        destination=self.dead_letters.arn
                    )
                ),
            ),
            opts=self._child,
        )
        permission = aws.lambda_.Permission(
            f"{self._name}-forwarder-invoked-by-s3",
            aws.lambda_.PermissionArgs(
                function=self.forwarder.name,
                action="lambda:InvokeFunction",
                principal="s3.amazonaws.com",
                source_arn=args.alb_logs_bucket_arn,
                source_account=args.account_id,
            ),
            opts=self._child,
        )
        aws.s3.BucketNotification(
            f"{self._name}-alb-logs-notification",
            aws.s3.BucketNotificationArgs(
                bucket=args.alb_logs_bucket,
                lambda_functions=[
                    aws.s3.BucketNotificationLambdaFunctionArgs(
                        lambda_function_arn=self.forwarder.arn,
                        events=["s3:ObjectCreated:*"],
                        filter_suffix=".log.gz",  # not the ALB's ELBAccessLogTestFile
                    )
                ],
            ),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[permission]),
        )

    def _create_native_delivery(self, args: ObservabilityArgs) -> None:
        deliver_to_log_group(
            f"{self._name}-alb-log",
            log_type="ALB_ACCESS_LOGS",
            source_arn=args.alb_arn,
            log_group_arn=self.access_log_group.arn,
            names=("alb_log_source", "alb_log_destination", "alb_log_delivery"),
            suffix=self._suffix,
            parent=self,
        )

    def _create_archive(
        self, args: ObservabilityArgs, log_groups: Sequence[aws.cloudwatch.LogGroup]
    ) -> None:
        """Opt-in 12-month copy of every log group in S3 (PCI DSS 10.5.1): each group streams
        through a subscription filter and Firehose into a bucket that keeps objects a year."""
        bucket = private_bucket(
            f"{self._name}-log-archive", "log_archive_bucket", self._suffix, parent=self
        )
        aws.s3.BucketLifecycleConfiguration(
            f"{self._name}-log-archive-lifecycle",
            aws.s3.BucketLifecycleConfigurationArgs(
                bucket=bucket.bucket,
                rules=[
                    aws.s3.BucketLifecycleConfigurationRuleArgs(
                        id="keep-a-year",
                        status="Enabled",
                        filter=aws.s3.BucketLifecycleConfigurationRuleFilterArgs(prefix=""),
                        # Glacier Instant Retrieval: still readable at once, at a fraction of
                        # the storage price, after the three months PCI wants at hand.
                        transitions=[
                            aws.s3.BucketLifecycleConfigurationRuleTransitionArgs(
                                days=ARCHIVE_HOT_DAYS, storage_class="GLACIER_IR"
                            )
                        ],
                        expiration=aws.s3.BucketLifecycleConfigurationRuleExpirationArgs(
                            days=ARCHIVE_DAYS
                        ),
                    )
                ],
            ),
            opts=self._child,
        )
        aws.s3.BucketPolicy(
            f"{self._name}-log-archive-policy",
            aws.s3.BucketPolicyArgs(
                bucket=bucket.bucket,
                policy=bucket.arn.apply(lambda arn: policy_document(deny_insecure_transport(arn))),
            ),
            opts=self._child,
        )
        firehose_role = self._service_role(
            "log_archive_firehose_role",
            "firehose.amazonaws.com",
            args.account_id,
            "log_archive_firehose_policy",
            bucket.arn.apply(
                lambda arn: policy_document(
                    {
                        "Sid": "WriteArchive",
                        "Effect": "Allow",
                        "Action": [
                            "s3:AbortMultipartUpload",
                            "s3:GetBucketLocation",
                            "s3:ListBucket",
                            "s3:ListBucketMultipartUploads",
                            "s3:PutObject",
                        ],
                        "Resource": [arn, f"{arn}/*"],
                    }
                )
            ),
        )
        stream_name = physical_name("log_archive_stream", self._suffix)
        stream = aws.kinesis.FirehoseDeliveryStream(
            f"{self._name}-log-archive-stream",
            aws.kinesis.FirehoseDeliveryStreamArgs(
                name=stream_name,
                destination="extended_s3",
                server_side_encryption=aws.kinesis.FirehoseDeliveryStreamServerSideEncryptionArgs(
                    enabled=True, key_type="AWS_OWNED_CMK"
                ),
                extended_s3_configuration=aws.kinesis.FirehoseDeliveryStreamExtendedS3ConfigurationArgs(
                    bucket_arn=bucket.arn,
                    role_arn=firehose_role.arn,
                    prefix="logs/",
                    error_output_prefix="errors/",
                    buffering_interval=300,
                    buffering_size=5,
                    # CloudWatch Logs already gzips what it sends: store it as it comes.
                    compression_format="UNCOMPRESSED",
                ),
                tags=name_tag(stream_name),
            ),
            opts=self._child,
        )
        logs_role = self._service_role(
            "log_archive_logs_role",
            LOGS_SERVICE,
            args.account_id,
            "log_archive_logs_policy",
            stream.arn.apply(
                lambda arn: policy_document(
                    {
                        "Sid": "SendToTheArchiveStream",
                        "Effect": "Allow",
                        "Action": ["firehose:PutRecord", "firehose:PutRecordBatch"],
                        "Resource": [arn],
                    }
                )
            ),
        )
        for index, group in enumerate(log_groups):
            aws.cloudwatch.LogSubscriptionFilter(
                f"{self._name}-log-archive-{index}",
                aws.cloudwatch.LogSubscriptionFilterArgs(
                    name=physical_name("log_archive_filter", self._suffix),
                    log_group=group.name,
                    filter_pattern="",  # everything
                    destination_arn=stream.arn,
                    role_arn=logs_role.arn,
                ),
                opts=self._child,
            )

    def _service_role(
        self,
        role_key: str,
        service: str,
        account_id: pulumi.Input[str],
        policy_key: str,
        policy: pulumi.Input[str],
    ) -> aws.iam.Role:
        """A role only ``service`` acting for this account may assume, with one inline policy."""
        name = physical_name(role_key, self._suffix)
        role = aws.iam.Role(
            f"{self._name}-{role_key.replace('_', '-')}",
            aws.iam.RoleArgs(
                name=name,
                assume_role_policy=pulumi.Output.from_input(account_id).apply(
                    lambda account: policy_document(
                        {
                            "Effect": "Allow",
                            "Principal": {"Service": service},
                            "Action": "sts:AssumeRole",
                            "Condition": {"StringEquals": {"aws:SourceAccount": account}},
                        }
                    )
                ),
                tags=name_tag(name),
            ),
            opts=self._child,
        )
        aws.iam.RolePolicy(
            f"{self._name}-{policy_key.replace('_', '-')}",
            aws.iam.RolePolicyArgs(
                name=physical_name(policy_key, self._suffix), role=role.id, policy=policy
            ),
            opts=self._child,
        )
        return role

    def _create_alarm(self, spec: AlarmSpec) -> aws.cloudwatch.MetricAlarm:
        name = spec.name
        return aws.cloudwatch.MetricAlarm(
            f"{self._name}-{name}",
            aws.cloudwatch.MetricAlarmArgs(
                name=name,
                alarm_description=spec.why,
                namespace=spec.namespace,
                metric_name=spec.metric,
                dimensions=spec.dimensions,
                statistic=None if spec.extended_statistic else spec.statistic,
                extended_statistic=spec.extended_statistic,
                period=spec.period,
                evaluation_periods=spec.evaluation_periods,
                comparison_operator=spec.comparison,
                threshold=spec.threshold,
                treat_missing_data=spec.treat_missing_data,
                alarm_actions=[self.topic.arn],
                ok_actions=[self.topic.arn],
                tags=name_tag(name),
            ),
            opts=self._child,
        )

    def _create_dashboard(self, args: ObservabilityArgs) -> None:
        name = physical_name("dashboard", self._suffix)
        self.dashboard = aws.cloudwatch.Dashboard(
            f"{self._name}-dashboard",
            aws.cloudwatch.DashboardArgs(
                dashboard_name=name,
                dashboard_body=pulumi.Output.all(
                    alb=args.alb_arn_suffix,
                    target_group=args.target_group_arn_suffix,
                    cluster=args.ecs_cluster_name,
                    service=args.ecs_service_name,
                    web_acl=args.web_acl_name,
                    distribution=args.distribution_id,
                ).apply(
                    lambda names: dashboard_body(
                        names, args.db_cluster_identifier, self.forwarder_function_name
                    )
                ),
            ),
            opts=self._child,
        )


def forwarder_policy(
    bucket_arn: str, log_group_arn: str, function_log_group_arn: str, queue_arn: str, key_arn: str
) -> str:
    """Read the ALB's log files; write to the access-log group and its own; send failures."""
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
            "Condition": {"StringEquals": {"kms:ViaService": LOGS_SERVICE}},
        },
    )


def alarm_specs(args: ObservabilityArgs, component: Observability) -> list[AlarmSpec]:
    """Every alarm, with why it exists. Thresholds: docs/architecture.md, "Alarms"."""
    alb = {"LoadBalancer": args.alb_arn_suffix}
    target = {"LoadBalancer": args.alb_arn_suffix, "TargetGroup": args.target_group_arn_suffix}
    service = {"ClusterName": args.ecs_cluster_name, "ServiceName": args.ecs_service_name}
    cluster = {"DBClusterIdentifier": args.db_cluster_identifier}
    suffix = args.environment_suffix

    def named(key: str) -> str:
        return physical_name(key, suffix)

    specs = [
        AlarmSpec(
            named("alarm_alb_5xx"),
            "AWS/ApplicationELB",
            "HTTPCode_ELB_5XX_Count",
            alb,
            "GreaterThanThreshold",
            10,
            "The ALB itself answers 5xx (no healthy target, overload): payments fail.",
        ),
        AlarmSpec(
            named("alarm_target_5xx"),
            "AWS/ApplicationELB",
            "HTTPCode_Target_5XX_Count",
            target,
            "GreaterThanThreshold",
            10,
            "The API answers 5xx: a bug or the database is failing requests.",
        ),
        AlarmSpec(
            named("alarm_target_p99"),
            "AWS/ApplicationELB",
            "TargetResponseTime",
            target,
            "GreaterThanThreshold",
            1.0,
            "p99 latency over 1 s for 5 minutes: checkout feels broken long before errors.",
            extended_statistic="p99",
        ),
        AlarmSpec(
            named("alarm_unhealthy_hosts"),
            "AWS/ApplicationELB",
            "UnHealthyHostCount",
            target,
            "GreaterThanThreshold",
            0,
            "A task fails its health checks: capacity is lower than it looks.",
            statistic="Maximum",
            evaluation_periods=3,
        ),
        AlarmSpec(
            named("alarm_running_tasks"),
            "ECS/ContainerInsights",
            "RunningTaskCount",
            service,
            "LessThanThreshold",
            RUNNING_TASKS_MINIMUM,
            "Fewer than 3 tasks: one zone's worth of capacity is gone.",
            statistic="Minimum",
            evaluation_periods=3,
            treat_missing_data="breaching",
        ),
        AlarmSpec(
            named("alarm_ecs_cpu"),
            "AWS/ECS",
            "CPUUtilization",
            service,
            "GreaterThanThreshold",
            85,
            "CPU stays above the 70% scaling target: autoscaling is at 10 tasks or stuck.",
            statistic="Average",
            period=300,
            evaluation_periods=3,
        ),
        AlarmSpec(
            named("alarm_ecs_memory"),
            "AWS/ECS",
            "MemoryUtilization",
            service,
            "GreaterThanThreshold",
            90,
            "Memory stays above the 80% scaling target: a leak or too small a task.",
            statistic="Average",
            period=300,
            evaluation_periods=3,
        ),
        AlarmSpec(
            named("alarm_db_cpu"),
            "AWS/RDS",
            "CPUUtilization",
            cluster,
            "GreaterThanThreshold",
            80,
            "Aurora CPU high for 15 minutes: raise dbMaxCapacity or fix a query.",
            statistic="Average",
            period=300,
            evaluation_periods=3,
        ),
        AlarmSpec(
            named("alarm_db_memory"),
            "AWS/RDS",
            "FreeableMemory",
            cluster,
            "LessThanThreshold",
            256 * 1024 * 1024,
            "Under 256 MiB free: the buffer cache is gone and latency will follow.",
            statistic="Minimum",
            period=300,
            evaluation_periods=3,
        ),
        AlarmSpec(
            named("alarm_db_connections"),
            "AWS/RDS",
            "DatabaseConnections",
            cluster,
            "GreaterThanThreshold",
            400,
            "Connections near the limit of small capacities: pools are leaking or too many tasks.",
            statistic="Maximum",
            period=300,
            evaluation_periods=2,
        ),
        AlarmSpec(
            named("alarm_db_replica_lag"),
            "AWS/RDS",
            "AuroraReplicaLag",
            {"DBInstanceIdentifier": args.db_reader_identifier},
            "GreaterThanThreshold",
            1000,
            "Reader over 1 s behind: a failover would lose that much recent work.",
            statistic="Maximum",
            evaluation_periods=5,
        ),
        AlarmSpec(
            named("alarm_waf_blocked"),
            "AWS/WAFV2",
            "BlockedRequests",
            {"WebACL": args.web_acl_name, "Rule": "ALL"},
            "GreaterThanThreshold",
            1000,
            "A spike of blocked requests: an attack or a false positive locking users out.",
            period=300,
            evaluation_periods=1,
        ),
    ]
    specs += [
        AlarmSpec(
            per_az_name("alarm_nat_ports", zone, suffix),
            "AWS/NATGateway",
            "ErrorPortAllocation",
            {"NatGatewayId": nat_id},
            "GreaterThanThreshold",
            0,
            f"The NAT gateway in {zone} ran out of ports: tasks there cannot reach AWS APIs.",
        )
        for zone, nat_id in zip(args.availability_zones, args.nat_gateway_ids, strict=True)
    ]
    if component.forwarder_function_name:
        specs += [
            AlarmSpec(
                named("alarm_forwarder_errors"),
                "AWS/Lambda",
                "Errors",
                {"FunctionName": component.forwarder_function_name},
                "GreaterThanThreshold",
                0,
                "The ALB log forwarder failed: access logs are missing from CloudWatch.",
            ),
            AlarmSpec(
                named("alarm_forwarder_dead_letters"),
                "AWS/SQS",
                "ApproximateNumberOfMessagesVisible",
                {"QueueName": physical_name("alb_log_forwarder_dlq", args.environment_suffix)},
                "GreaterThanThreshold",
                0,
                "Log files the forwarder gave up on: replay them from the dead-letter queue.",
                statistic="Maximum",
                evaluation_periods=1,
            ),
        ]
    return specs


def dashboard_body(names: Mapping[str, str], db_cluster: str, forwarder: str | None) -> str:
    """One dashboard: ALB, ECS, Aurora, CloudFront, WAF (and the forwarder)."""
    alb, target_group = names["alb"], names["target_group"]
    cluster, service = names["cluster"], names["service"]
    web_acl, distribution = names["web_acl"], names["distribution"]

    def widget(
        title: str, metrics: list[list[str]], stat: str = "Sum", region: str = REQUIRED_REGION
    ) -> dict[str, Any]:
        return {
            "type": "metric",
            "width": 12,
            "height": 6,
            "properties": {
                "title": title,
                "metrics": metrics,
                "stat": stat,
                "period": 60,
                "region": region,
                "view": "timeSeries",
            },
        }

    widgets = [
        widget(
            "ALB requests and 5xx",
            [
                ["AWS/ApplicationELB", "RequestCount", "LoadBalancer", alb],
                ["AWS/ApplicationELB", "HTTPCode_ELB_5XX_Count", "LoadBalancer", alb],
                [
                    "AWS/ApplicationELB",
                    "HTTPCode_Target_5XX_Count",
                    "LoadBalancer",
                    alb,
                    "TargetGroup",
                    target_group,
                ],
            ],
        ),
        widget(
            "API latency p99 (s)",
            [
                [
                    "AWS/ApplicationELB",
                    "TargetResponseTime",
                    "LoadBalancer",
                    alb,
                    "TargetGroup",
                    target_group,
                ],
            ],
            stat="p99",
        ),
        widget(
            "ECS CPU and memory (%)",
            [
                ["AWS/ECS", "CPUUtilization", "ClusterName", cluster, "ServiceName", service],
                ["AWS/ECS", "MemoryUtilization", "ClusterName", cluster, "ServiceName", service],
            ],
            stat="Average",
        ),
        widget(
            "ECS running tasks",
            [
                [
                    "ECS/ContainerInsights",
                    "RunningTaskCount",
                    "ClusterName",
                    cluster,
                    "ServiceName",
                    service,
                ],
            ],
            stat="Minimum",
        ),
        widget(
            "Aurora CPU, connections, capacity",
            [
                ["AWS/RDS", "CPUUtilization", "DBClusterIdentifier", db_cluster],
                ["AWS/RDS", "DatabaseConnections", "DBClusterIdentifier", db_cluster],
                ["AWS/RDS", "ServerlessDatabaseCapacity", "DBClusterIdentifier", db_cluster],
            ],
            stat="Average",
        ),
        widget(
            "CloudFront requests and 5xx rate",
            [
                ["AWS/CloudFront", "Requests", "DistributionId", distribution, "Region", "Global"],
                [
                    "AWS/CloudFront",
                    "5xxErrorRate",
                    "DistributionId",
                    distribution,
                    "Region",
                    "Global",
                ],
            ],
            stat="Sum",
            region="us-east-1",
        ),
        widget(
            "WAF allowed and blocked",
            [
                ["AWS/WAFV2", "AllowedRequests", "WebACL", web_acl, "Rule", "ALL"],
                ["AWS/WAFV2", "BlockedRequests", "WebACL", web_acl, "Rule", "ALL"],
            ],
        ),
    ]
    if forwarder:
        widgets.append(
            widget(
                "ALB log forwarder",
                [
                    ["AWS/Lambda", "Invocations", "FunctionName", forwarder],
                    ["AWS/Lambda", "Errors", "FunctionName", forwarder],
                ],
            )
        )
    return json.dumps({"widgets": widgets})
