"""The one way the stack makes an S3 bucket: private, owner-enforced, encrypted, destroyable.

Callers add what differs (a lifecycle rule from ``lifecycle_rule``, versioning, the bucket
policy). Every lifecycle rule also aborts multipart uploads left incomplete, whose parts S3
otherwise keeps, bills and never shows as objects; every bucket gets one
(offline/checks_hardening.py). SSE-S3 because the buckets need it: ALB access-log delivery
supports no KMS key, the web app's bucket holds public content (docs/architecture.md,
"Frontend tier"), the log archive receives from Firehose what CloudWatch Logs already
encrypted, and the trail's files are encrypted by CloudTrail itself with the audit key.
"""

from __future__ import annotations

import pulumi
import pulumi_aws as aws

from payments_infra.aws.tagging import name_tag
from payments_infra.config.naming import PhysicalName, physical_name

# Every writer of the stack's buckets (ALB, Firehose, CloudTrail, Config, `pulumi up`)
# finishes an upload in minutes; a week is long enough for any retry of a slow one.
ABORT_INCOMPLETE_UPLOADS_DAYS = 7


def private_bucket(
    resource_name: str, name: PhysicalName, suffix: str, *, opts: pulumi.ResourceOptions
) -> aws.s3.Bucket:
    """A bucket named ``name`` (naming.Names): all public access blocked, ACLs off,
    SSE-S3 by default, and emptied by ``pulumi destroy``."""
    bucket_name = physical_name(name, suffix)
    bucket = aws.s3.Bucket(
        resource_name,
        aws.s3.BucketArgs(bucket=bucket_name, force_destroy=True, tags=name_tag(bucket_name)),
        opts=opts,
    )
    aws.s3.BucketPublicAccessBlock(
        f"{resource_name}-private",
        aws.s3.BucketPublicAccessBlockArgs(
            bucket=bucket.bucket,
            block_public_acls=True,
            block_public_policy=True,
            ignore_public_acls=True,
            restrict_public_buckets=True,
        ),
        opts=opts,
    )
    aws.s3.BucketOwnershipControls(
        f"{resource_name}-ownership",
        aws.s3.BucketOwnershipControlsArgs(
            bucket=bucket.bucket,
            rule=aws.s3.BucketOwnershipControlsRuleArgs(object_ownership="BucketOwnerEnforced"),
        ),
        opts=opts,
    )
    aws.s3.BucketServerSideEncryptionConfiguration(
        f"{resource_name}-encryption",
        aws.s3.BucketServerSideEncryptionConfigurationInitArgs(
            bucket=bucket.bucket,
            rules=[
                aws.s3.BucketServerSideEncryptionConfigurationRuleArgs(
                    apply_server_side_encryption_by_default=aws.s3.BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultArgs(
                        sse_algorithm="AES256"
                    )
                )
            ],
        ),
        opts=opts,
    )
    return bucket


def versioned(resource_name: str, bucket: pulumi.Input[str], opts: pulumi.ResourceOptions) -> None:
    """Keep every version of the bucket's objects (a lifecycle rule of the bucket expires the
    old ones): an overwritten or deleted object can be brought back."""
    aws.s3.BucketVersioning(
        resource_name,
        aws.s3.BucketVersioningInitArgs(
            bucket=bucket,
            versioning_configuration=aws.s3.BucketVersioningVersioningConfigurationArgs(
                status="Enabled"
            ),
        ),
        opts=opts,
    )


def lifecycle_rule(
    resource_name: str,
    bucket: pulumi.Input[str],
    rule_id: str,
    *,
    opts: pulumi.ResourceOptions,
    expire_after_days: int | None = None,
    expire_noncurrent_after_days: int | None = None,
    glacier_ir_after_days: int | None = None,
    abort_uploads_after_days: int = ABORT_INCOMPLETE_UPLOADS_DAYS,
) -> None:
    """The bucket's lifecycle: one rule over every object, doing what the arguments set, and
    always aborting incomplete multipart uploads."""
    rule = aws.s3.BucketLifecycleConfigurationRuleArgs(
        id=rule_id,
        status="Enabled",
        filter=aws.s3.BucketLifecycleConfigurationRuleFilterArgs(prefix=""),
        transitions=(
            [
                aws.s3.BucketLifecycleConfigurationRuleTransitionArgs(
                    days=glacier_ir_after_days, storage_class="GLACIER_IR"
                )
            ]
            if glacier_ir_after_days
            else None
        ),
        expiration=(
            aws.s3.BucketLifecycleConfigurationRuleExpirationArgs(days=expire_after_days)
            if expire_after_days
            else None
        ),
        noncurrent_version_expiration=(
            aws.s3.BucketLifecycleConfigurationRuleNoncurrentVersionExpirationArgs(
                noncurrent_days=expire_noncurrent_after_days
            )
            if expire_noncurrent_after_days
            else None
        ),
        abort_incomplete_multipart_upload=aws.s3.BucketLifecycleConfigurationRuleAbortIncompleteMultipartUploadArgs(
            days_after_initiation=abort_uploads_after_days
        ),
    )
    aws.s3.BucketLifecycleConfiguration(
        resource_name,
        aws.s3.BucketLifecycleConfigurationArgs(bucket=bucket, rules=[rule]),
        opts=opts,
    )
