"""Policy-document building blocks shared by the tiers."""

from __future__ import annotations

import json
from collections.abc import Sequence
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


# What a key's administrators may do to it, without being able to use it: change its policy,
# disable it, schedule its deletion. Only the custodians (the deployers and the break-glass
# role, aws/access.py) hold them, never the whole account: an account administrator must not be
# able to give themselves the database's or the audit trail's key.
KEY_ADMIN_ACTIONS = [
    "kms:CancelKeyDeletion",
    "kms:CreateAlias",
    "kms:DeleteAlias",
    "kms:DisableKey",
    "kms:DisableKeyRotation",
    "kms:EnableKey",
    "kms:EnableKeyRotation",
    "kms:PutKeyPolicy",
    "kms:RevokeGrant",
    "kms:RotateKeyOnDemand",
    "kms:ScheduleKeyDeletion",
    "kms:TagResource",
    "kms:UntagResource",
    "kms:UpdateAlias",
    "kms:UpdateKeyDescription",
]
# What anyone of the account may read about a key (through IAM): its settings, never its
# use. AWS Config's rules (Security Hub KMS.4 reads GetKeyRotationStatus) and the console
# need them, and they reveal no data.
KEY_READ_ACTIONS = [
    "kms:DescribeKey",
    "kms:GetKeyPolicy",
    "kms:GetKeyRotationStatus",
    "kms:ListGrants",
    "kms:ListKeyPolicies",
    "kms:ListResourceTags",
]


def key_admin_statements(account_id: str, custodians: Sequence[str]) -> list[dict[str, Any]]:
    """The key-policy statements that let ``custodians`` (ARNs of the deployers and the
    break-glass role, each named as a principal) administer the key, and the account read its
    settings.

    Named principals, not the account root with IAM deciding: KMS refuses a policy that would
    not let its caller call PutKeyPolicy again (the lockout safety check), so the deployer
    running ``pulumi up`` is always among them (aws/access.py).
    """
    return [
        {
            "Sid": "CustodiansAdministerKey",
            "Effect": "Allow",
            "Principal": {"AWS": sorted(set(custodians))},
            "Action": KEY_ADMIN_ACTIONS,
            "Resource": "*",  # in a key policy, "*" means this key
        },
        {
            "Sid": "TheAccountReadsTheKeysSettings",
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:aws:iam::{account_id}:root"},
            "Action": KEY_READ_ACTIONS,
            "Resource": "*",
        },
    ]


def callers_through_service_statement(
    sid: str, account_id: str, service: str, actions: list[str], callers: Sequence[str]
) -> dict[str, Any]:
    """``callers`` (principal ARNs) may use the key for ``actions``, only through ``service``.

    The callers are an ``aws:PrincipalArn`` condition on the account, not principals: roles the
    stack makes after the key (the tasks' roles read secrets encrypted with it) cannot be
    named as principals before they exist, and a condition's ARNs need not exist. The role's
    own IAM policy must allow the action too (the account principal delegates to IAM).
    """
    return {
        "Sid": sid,
        "Effect": "Allow",
        "Principal": {"AWS": f"arn:aws:iam::{account_id}:root"},
        "Action": actions,
        "Resource": "*",
        "Condition": {
            "StringEquals": {"kms:ViaService": service, "kms:CallerAccount": account_id},
            "ArnEquals": {"aws:PrincipalArn": sorted(set(callers))},
        },
    }
