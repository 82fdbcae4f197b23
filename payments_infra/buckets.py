"""The one way the stack makes an S3 bucket: private, owner-enforced, encrypted, destroyable.

Callers add what differs (lifecycle, versioning, the bucket policy). SSE-S3 because both
buckets need it: ALB access-log delivery supports no KMS key, and the web app's bucket holds
public content (docs/architecture.md, "Frontend tier").
"""

from __future__ import annotations

import pulumi
import pulumi_aws as aws

from payments_infra.naming import physical_name
from payments_infra.tagging import name_tag


def private_bucket(
    resource_name: str, name_key: str, suffix: str, *, parent: pulumi.Resource
) -> aws.s3.Bucket:
    """A bucket named by catalogue entry ``name_key``: all public access blocked, ACLs off,
    SSE-S3 by default, and emptied by ``pulumi destroy``."""
    child = pulumi.ResourceOptions(parent=parent)
    name = physical_name(name_key, suffix)
    bucket = aws.s3.Bucket(
        resource_name,
        aws.s3.BucketArgs(bucket=name, force_destroy=True, tags=name_tag(name)),
        opts=child,
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
        opts=child,
    )
    aws.s3.BucketOwnershipControls(
        f"{resource_name}-ownership",
        aws.s3.BucketOwnershipControlsArgs(
            bucket=bucket.bucket,
            rule=aws.s3.BucketOwnershipControlsRuleArgs(object_ownership="BucketOwnerEnforced"),
        ),
        opts=child,
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
        opts=child,
    )
    return bucket
