"""LogArchive component: a 12-month copy of every log group in S3 (PCI DSS 10.5.1), opt-in.

With ``payments:logArchive: s3``, each log group streams through a subscription filter and
Kinesis Data Firehose into the bucket ``log-archive-{suffix}`` (private, SSE-S3, TLS only),
which moves objects to Glacier Instant Retrieval after 90 days and deletes them after 365.
Firehose writes with one role, CloudWatch Logs sends to Firehose with another.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from payments_infra.aws.buckets import lifecycle_rule, private_bucket
from payments_infra.aws.policies import deny_insecure_transport, policy_document, regional_service
from payments_infra.aws.service_roles import service_role
from payments_infra.aws.tagging import name_tag
from payments_infra.config.naming import Names, physical_name

# PCI DSS 10.5.1: a year of audit-log history, the last three months immediately available.
ARCHIVE_DAYS = 365
ARCHIVE_HOT_DAYS = 90


@dataclass(frozen=True, kw_only=True)
class LogArchiveArgs:
    """Inputs of the LogArchive component."""

    environment_suffix: str
    """Ends every physical name. Required."""
    account_id: pulumi.Input[str]
    """The AWS account, for trust conditions. Required."""
    log_groups: Sequence[aws.cloudwatch.LogGroup]
    """Every log group to archive, one subscription filter each, in a stable order. Required."""


class LogArchive(pulumi.ComponentResource):
    """Every log group, through Firehose, into a bucket that keeps a year."""

    def __init__(
        self, name: str, args: LogArchiveArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("payments:observability:LogArchive", name, None, opts)
        self._name = name
        self._suffix = args.environment_suffix
        self._child = pulumi.ResourceOptions(parent=self)
        self.bucket = private_bucket(
            self._name, Names.log_archive_bucket, self._suffix, opts=self._child
        )
        self._create_bucket_rules()
        stream = self._create_stream(args.account_id)
        logs_role = service_role(
            f"{self._name}-logs",
            Names.log_archive_logs_role,
            Names.log_archive_logs_policy,
            service=regional_service("logs"),
            account_id=args.account_id,
            policy=stream.arn.apply(
                lambda arn: policy_document(
                    {
                        "Sid": "SendToTheArchiveStream",
                        "Effect": "Allow",
                        "Action": ["firehose:PutRecord", "firehose:PutRecordBatch"],
                        "Resource": [arn],
                    }
                )
            ),
            suffix=self._suffix,
            opts=self._child,
        )
        for index, group in enumerate(args.log_groups):
            aws.cloudwatch.LogSubscriptionFilter(
                f"{self._name}-{index}",
                aws.cloudwatch.LogSubscriptionFilterArgs(
                    name=physical_name(Names.log_archive_filter, self._suffix),
                    log_group=group.name,
                    filter_pattern="",  # everything
                    destination_arn=stream.arn,
                    role_arn=logs_role.role.arn,
                ),
                opts=self._child,
            )
        self.bucket_name = self.bucket.bucket
        self.register_outputs({"bucket_name": self.bucket_name})

    def _create_bucket_rules(self) -> None:
        # Glacier Instant Retrieval: still readable at once, at a fraction of the storage
        # price, after the three months PCI wants at hand.
        lifecycle_rule(
            f"{self._name}-lifecycle",
            self.bucket.bucket,
            "keep-a-year",
            glacier_ir_after_days=ARCHIVE_HOT_DAYS,
            expire_after_days=ARCHIVE_DAYS,
            opts=self._child,
        )
        aws.s3.BucketPolicy(
            f"{self._name}-policy",
            aws.s3.BucketPolicyArgs(
                bucket=self.bucket.bucket,
                policy=self.bucket.arn.apply(
                    lambda arn: policy_document(deny_insecure_transport(arn))
                ),
            ),
            opts=self._child,
        )

    def _create_stream(self, account_id: pulumi.Input[str]) -> aws.kinesis.FirehoseDeliveryStream:
        firehose_role = service_role(
            f"{self._name}-firehose",
            Names.log_archive_firehose_role,
            Names.log_archive_firehose_policy,
            service="firehose.amazonaws.com",
            account_id=account_id,
            policy=self.bucket.arn.apply(
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
            suffix=self._suffix,
            opts=self._child,
        )
        stream_name = physical_name(Names.log_archive_stream, self._suffix)
        return aws.kinesis.FirehoseDeliveryStream(
            f"{self._name}-stream",
            aws.kinesis.FirehoseDeliveryStreamArgs(
                name=stream_name,
                destination="extended_s3",
                server_side_encryption=aws.kinesis.FirehoseDeliveryStreamServerSideEncryptionArgs(
                    enabled=True, key_type="AWS_OWNED_CMK"
                ),
                extended_s3_configuration=aws.kinesis.FirehoseDeliveryStreamExtendedS3ConfigurationArgs(
                    bucket_arn=self.bucket.arn,
                    role_arn=firehose_role.role.arn,
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
