"""Policy-document building blocks shared by the tiers."""

from __future__ import annotations

import json
from typing import Any

from payments_infra.config import REQUIRED_REGION


def policy_document(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def regional_service(service: str) -> str:
    """A service's regional name in the stack's region, e.g. ``logs.us-east-1.amazonaws.com``:
    the principal of regional services, the value of ``kms:ViaService``, an endpoint's host."""
    return f"{service}.{REQUIRED_REGION}.amazonaws.com"


# Services whose documented trust policy names the account another way than aws:SourceAccount.
# Firehose passes the account id as the external id when it assumes its delivery role
# (CloudWatch Logs user guide, "Step 1: Create a Firehose delivery stream"; Firehose developer
# guide, "Grant Firehose access to an Amazon S3 destination").
ACCOUNT_CONDITION_KEYS = {"firehose.amazonaws.com": "sts:ExternalId"}


def trust_policy(
    service: str,
    account_id: str,
    source_arn: str | list[str] | None = None,
    *,
    conditions: bool = True,
) -> str:
    """Only ``service``, acting for this account (and for ``source_arn``, where the service
    says which resource it acts for), may assume the role: AWS's confused-deputy conditions.

    ``conditions=False`` is for the services of ``service_roles.WITHOUT_SOURCE_KEYS``, which
    AWS does not document as sending either key when they assume a role: with the conditions,
    they could be refused.
    """
    statement: dict[str, Any] = {
        "Effect": "Allow",
        "Principal": {"Service": service},
        "Action": "sts:AssumeRole",
    }
    if conditions:
        account_key = ACCOUNT_CONDITION_KEYS.get(service, "aws:SourceAccount")
        statement["Condition"] = {"StringEquals": {account_key: account_id}}
        if source_arn is not None:
            statement["Condition"]["ArnLike"] = {"aws:SourceArn": source_arn}
    return policy_document(statement)


def deny_insecure_transport(bucket_arn: str) -> dict[str, Any]:
    """The statement that refuses any request to a bucket not made over TLS."""
    return {
        "Sid": "DenyInsecureTransport",
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:*",
        "Resource": [bucket_arn, f"{bucket_arn}/*"],
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }


# What the account may do to a customer-managed key, without being able to use it.
KEY_ADMIN_ACTIONS = [
    "kms:CancelKeyDeletion",
    "kms:CreateAlias",
    "kms:DeleteAlias",
    "kms:DescribeKey",
    "kms:DisableKey",
    "kms:DisableKeyRotation",
    "kms:EnableKey",
    "kms:EnableKeyRotation",
    "kms:GetKeyPolicy",
    "kms:GetKeyRotationStatus",
    "kms:ListGrants",
    "kms:ListKeyPolicies",
    "kms:ListResourceTags",
    "kms:PutKeyPolicy",
    "kms:RevokeGrant",
    "kms:RotateKeyOnDemand",
    "kms:ScheduleKeyDeletion",
    "kms:TagResource",
    "kms:UntagResource",
    "kms:UpdateAlias",
    "kms:UpdateKeyDescription",
]


def key_admin_statement(account_id: str) -> dict[str, Any]:
    """The key-policy statement that lets the account (through IAM) administer the key."""
    return {
        "Sid": "AdministerKey",
        "Effect": "Allow",
        "Principal": {"AWS": f"arn:aws:iam::{account_id}:root"},
        "Action": KEY_ADMIN_ACTIONS,
        "Resource": "*",  # in a key policy, "*" means this key
    }
