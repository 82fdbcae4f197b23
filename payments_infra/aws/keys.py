"""Customer-managed KMS keys: the one way the stack makes one, their policies, and ``LogsKey``.

``customer_managed_key`` makes a rotating, quickly deletable, aliased key; every key of the
platform comes from it, with one of the policies below (the image repository's is used by
image.py, the audit trail's by account_controls.py; the database's and the origin header's
live with their secrets). Each is administered by the custodians only (aws/access.py).
A key per kind of data: each policy names the one or two services that may use its key, so
widening one service's access never reaches another's data. ``LogsKey`` (created first,
before every tier) is the key every log group and the alerts topic are encrypted with, and
the ALB log forwarder's environment (the name of the group it writes to). Its policy lets
the regional CloudWatch Logs service use it only for this account's log groups
(encryption-context condition), lets CloudWatch alarms publish to the encrypted topic, and
EventBridge too, for that topic's messages only, when rules send to it (account/findings.py),
and lets the account use it through SNS and Lambda only.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from payments_infra.aws.access import Custodians, stack_role_arn
from payments_infra.aws.policies import (
    callers_through_service_statement,
    key_admin_statements,
    policy_document,
    regional_service,
)
from payments_infra.aws.tagging import name_tag
from payments_infra.config import REQUIRED_REGION
from payments_infra.config.naming import Names, PhysicalName, physical_name

# The shortest window AWS allows: a destroyed stack leaves no key behind for long.
KEY_DELETION_WINDOW_DAYS = 7
# What a service encrypting with a key does with it; RDS also hands grants to its instances.
KEY_USE_ACTIONS = [
    "kms:Decrypt",
    "kms:DescribeKey",
    "kms:Encrypt",
    "kms:GenerateDataKey",
    "kms:GenerateDataKeyWithoutPlaintext",
    "kms:ReEncryptFrom",
    "kms:ReEncryptTo",
]


def customer_managed_key(
    resource_name: str,
    *,
    description: str,
    policy: pulumi.Input[str],
    name: PhysicalName,
    alias: PhysicalName,
    suffix: str,
    opts: pulumi.ResourceOptions,
) -> aws.kms.Key:
    """A symmetric key with yearly rotation, tagged ``name``, aliased ``alias`` (naming.Names)."""
    key = aws.kms.Key(
        resource_name,
        aws.kms.KeyArgs(
            description=description,
            enable_key_rotation=True,
            deletion_window_in_days=KEY_DELETION_WINDOW_DAYS,
            policy=policy,
            tags=name_tag(physical_name(name, suffix)),
        ),
        opts=opts,
    )
    aws.kms.Alias(
        f"{resource_name}-alias",
        aws.kms.AliasArgs(name=physical_name(alias, suffix), target_key_id=key.key_id),
        opts=opts,
    )
    return key


# The roles of the stack's functions, whose environments the logs key encrypts (each
# function that exists; naming one that does not is harmless in a condition).
FUNCTION_ROLES = (
    Names.migration_runner_role,
    Names.db_rotation_role,
    Names.alb_log_forwarder_role,
    Names.origin_rotation_role,
)


def logs_key_policy(
    account_id: str,
    custodians: Sequence[str],
    suffix: str,
    event_rules_topic: str | None = None,
) -> str:
    """Administration by the custodians (aws/access.py); use by CloudWatch Logs for this
    account's log groups, by CloudWatch alarms and the custodians through SNS for the alerts
    topic, by EventBridge
    for the messages of ``event_rules_topic`` (the alerts topic, when rules send to it), and
    nobody else.

    EventBridge's statement is held to the topic by SNS's encryption context, not by
    ``aws:SourceArn`` or ``aws:SourceAccount``: the SNS developer guide ("Enable compatibility
    between event sources from AWS services and encrypted topics") says EventBridge's
    publishing to an encrypted topic does not support those keys, so such a condition would
    refuse every delivery, silently. Which rules may publish is the topic policy's to say
    (observability.py), by ``aws:SourceArn``, which SNS does support.
    """
    events = {
        "Sid": "EventRulesPublishToTheAlertsTopic",
        "Effect": "Allow",
        "Principal": {"Service": "events.amazonaws.com"},
        "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
        "Resource": "*",
        "Condition": {
            "StringEquals": {"kms:EncryptionContext:aws:sns:topicArn": event_rules_topic}
        },
    }
    return policy_document(
        *key_admin_statements(account_id, custodians),
        {
            "Sid": "CloudWatchLogsEncryptsThisAccountsLogGroups",
            "Effect": "Allow",
            "Principal": {"Service": regional_service("logs")},
            "Action": KEY_USE_ACTIONS,
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
        *([events] if event_rules_topic else []),
        # No role of the stack publishes to the alerts topic (alarms and rules are services,
        # above); a custodian may, to send on-call a test message through the encrypted topic.
        callers_through_service_statement(
            "CustodiansPublishThroughSns",
            account_id,
            regional_service("sns"),
            ["kms:Decrypt", "kms:GenerateDataKey"],
            custodians,
        ),
        # The deployer encrypts a function's environment when it creates or updates it; the
        # function's role decrypts it when an instance starts (Lambda developer guide,
        # "Securing environment variables"), both through Lambda.
        callers_through_service_statement(
            "EncryptFunctionEnvironmentsThroughLambda",
            account_id,
            regional_service("lambda"),
            [
                "kms:CreateGrant",
                "kms:Decrypt",
                "kms:DescribeKey",
                "kms:Encrypt",
                "kms:GenerateDataKey",
            ],
            [*custodians, *(stack_role_arn(account_id, r, suffix) for r in FUNCTION_ROLES)],
        ),
    )


def ecr_key_policy(account_id: str, custodians: Sequence[str]) -> str:
    """Administration by the custodians; use only through ECR, by them.

    ECR checks the key (DescribeKey) and gives the repository two grants when it creates
    it, and retires them when it deletes it; pushes and pulls then go through those grants,
    so neither the deployer nor the task execution role needs to decrypt anything.
    """
    return policy_document(
        *key_admin_statements(account_id, custodians),
        # The caller is whoever creates or deletes the repository: the deployer.
        callers_through_service_statement(
            "UseThroughEcr",
            account_id,
            regional_service("ecr"),
            ["kms:CreateGrant", "kms:RetireGrant", *KEY_USE_ACTIONS],
            custodians,
        ),
    )


def audit_key_policy(account_id: str, custodians: Sequence[str], trail_arn: str) -> str:
    """The trail's key: CloudTrail encrypts this account's log files with it (and only for
    ``trail_arn``); the account's principals decrypt them for reading, and nothing else.

    The statements are AWS's for a trail's key (CloudTrail user guide, "Configure AWS KMS
    key policies for CloudTrail"), with ``kms:GenerateDataKey*`` narrowed to the one action
    CloudTrail calls.
    """
    trail_context = {
        "kms:EncryptionContext:aws:cloudtrail:arn": f"arn:aws:cloudtrail:*:{account_id}:trail/*"
    }
    return policy_document(
        *key_admin_statements(account_id, custodians),
        {
            "Sid": "CloudTrailEncryptsThisAccountsLogFiles",
            "Effect": "Allow",
            "Principal": {"Service": "cloudtrail.amazonaws.com"},
            "Action": ["kms:GenerateDataKey"],
            "Resource": "*",
            "Condition": {
                "StringEquals": {"aws:SourceArn": trail_arn},
                "StringLike": trail_context,
            },
        },
        {
            "Sid": "CloudTrailDescribesTheKey",
            "Effect": "Allow",
            "Principal": {"Service": "cloudtrail.amazonaws.com"},
            "Action": ["kms:DescribeKey"],
            "Resource": "*",
            "Condition": {"StringEquals": {"aws:SourceArn": trail_arn}},
        },
        {
            "Sid": "TheAccountReadsTheLogFiles",
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:aws:iam::{account_id}:root"},
            "Action": ["kms:Decrypt", "kms:ReEncryptFrom"],
            "Resource": "*",
            "Condition": {
                "StringEquals": {"kms:CallerAccount": account_id},
                "StringLike": trail_context,
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
    custodians: Custodians
    """Who administers the key (aws/access.py). Required."""
    event_rules_topic_arn: pulumi.Input[str] | None = None
    """The alerts topic, when EventBridge rules send to it (account/findings.py): EventBridge
    may then use the key for its messages."""


class LogsKey(pulumi.ComponentResource):
    """The customer-managed key of every log group and of the alerts topic."""

    def __init__(
        self, name: str, args: LogsKeyArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        # The type token names the module LogsKey came from: it is part of every URN below it.
        super().__init__("payments:observability:LogsKey", name, None, opts)
        self.key = customer_managed_key(
            f"{name}-key",
            description="CloudWatch Logs groups, the alerts topic and the log forwarder's "
            "environment of the payments stack",
            policy=pulumi.Output.all(
                account_id=args.account_id,
                custodians=args.custodians.arns(),
                suffix=args.environment_suffix,
                event_rules_topic=args.event_rules_topic_arn,
            ).apply(lambda v: logs_key_policy(**v)),
            name=Names.logs_kms_key,
            alias=Names.logs_kms_alias,
            suffix=args.environment_suffix,
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.key_arn = self.key.arn
        self.register_outputs({"key_arn": self.key_arn})
