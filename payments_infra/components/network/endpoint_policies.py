"""The VPC endpoints' policies: the perimeter around the VPC's ways to AWS (PCI DSS 1.3.2).

An endpoint without a policy lets any call through, with any credentials, to any account's
resources: code in a task could use the VPC's way out with an attacker's own keys, or copy data
to a bucket of another account. These policies are a perimeter, not a grant: IAM still decides
what each principal of the account may do.
"""

from __future__ import annotations

from payments_infra.aws.policies import policy_document
from payments_infra.config import REQUIRED_REGION

# ECR keeps image layers in an S3 bucket of its own, per region (ECR user guide, "Minimum Amazon
# S3 bucket permissions" of the interface endpoints page): the one bucket of another account the
# tasks read through the gateway endpoint.
ECR_LAYER_BUCKET = f"prod-{REQUIRED_REGION}-starport-layer-bucket"


def this_account_only(account_id: str) -> str:
    """An interface endpoint's policy: any call, but only by principals of ``account_id``.

    Not also ``aws:ResourceAccount``: some calls the tasks make act on no resource of an account
    (``ecr:GetAuthorizationToken``; ``logs:`` and ``secretsmanager:`` calls carry it, but a
    condition key a request lacks fails ``StringEquals``), so the condition would stop image
    pulls. The services behind these endpoints hold data of this account only for the calls
    the tasks make (docs/security.md, "Deliberate exceptions").
    """
    return policy_document(
        {
            "Sid": "OnlyThisAccountsPrincipals",
            "Effect": "Allow",
            "Principal": "*",
            "Action": "*",
            "Resource": "*",
            "Condition": {"StringEquals": {"aws:PrincipalAccount": account_id}},
        }
    )


def s3_gateway_policy(account_id: str) -> str:
    """The S3 gateway endpoint's policy: ECR's image layers, and this account's own buckets by
    this account's own principals; nothing of another account, with no one else's keys."""
    return policy_document(
        {
            "Sid": "EcrImageLayers",
            "Effect": "Allow",
            "Principal": "*",
            "Action": ["s3:GetObject"],
            "Resource": [f"arn:aws:s3:::{ECR_LAYER_BUCKET}/*"],
        },
        {
            "Sid": "ThisAccountsBucketsByThisAccountsPrincipals",
            "Effect": "Allow",
            "Principal": "*",
            # What a task's own code would do with a bucket of the stack's account; nothing
            # in the stack calls S3 today but ECR's layers.
            "Action": ["s3:GetObject", "s3:PutObject", "s3:ListBucket"],
            "Resource": ["arn:aws:s3:::*", "arn:aws:s3:::*/*"],
            "Condition": {
                "StringEquals": {
                    "aws:PrincipalAccount": account_id,
                    "aws:ResourceAccount": account_id,
                }
            },
        },
    )
