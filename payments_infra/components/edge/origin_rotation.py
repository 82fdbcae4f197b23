"""OriginRotation component: the CloudFront origin header rotates on a schedule, by the
stack's own function, without a request refused.

Made by platform.py wherever CloudFront routes ``/api`` to the ALB (the header exists only
there: origin_header.py), every ``payments:originHeaderRotationDays`` (30 by default). It
deploys ``functions/origin_header_rotation`` (its README says what each step writes, and
why no request is refused), and:
- the function ``origin-header-rotation-{suffix}`` (Python 3.12, arm64, boto3 from the
  runtime, outside the VPC: ELB, WAF, CloudFront and Secrets Manager are all public APIs),
  a 900 s timeout (Lambda's most: a step waits for CloudFront to deploy), a reserved
  concurrency of 2, its environment (the four places, by ARN, name or id; no value) under
  the logs key, its 30-day log group created before it;
- its role (service_roles.py) with exactly the README's "IAM" table, each action on its one
  resource, plus what every function of the stack needs (traces; its environment's key
  through Lambda). Exposed as ``role_arn``, for a resource policy on the secret to admit;
- the permission for Secrets Manager to invoke it for this secret only, and the
  ``SecretRotation``, with ``rotate_immediately=False``: the ``up`` that creates it rotates
  nothing, the first rotation comes a schedule later (or at once with ``aws secretsmanager
  rotate-secret``, docs/security.md);
- an alarm on the function's errors (``origin_rotation_alarms``).

The four resources that carry the first value ignore what the function writes
(origin_header.ROTATED_PATHS), and `make up` refreshes before it previews and deploys.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from payments_infra import REPO_ROOT
from payments_infra.aws.function_code import function_sources
from payments_infra.aws.lambda_function import hardened_function
from payments_infra.aws.logs import log_group
from payments_infra.aws.monitoring import AlarmSpec, DashboardWidget
from payments_infra.aws.options import after
from payments_infra.aws.policies import policy_document, regional_service
from payments_infra.aws.service_roles import service_role
from payments_infra.components.edge.origin_header import OriginChecks
from payments_infra.config.naming import Names, physical_name

ROTATION_SOURCE = REPO_ROOT / "functions" / "origin_header_rotation"
ROTATION_MEMORY_MB = 128
# Lambda's most. setSecret waits for CloudFront to deploy (usually a few minutes) for up to
# 600 s, never past the remaining time less 60 s (functions/origin_header_rotation/README.md,
# "The waits"), so one invocation mostly suffices.
ROTATION_TIMEOUT_SECONDS = 900
# Secrets Manager runs one step at a time; the second is for a retry that overlaps a step
# still waiting on CloudFront. What a deploy takes from the account's unreserved pool.
ROTATION_RESERVED_CONCURRENCY = 2
# The distribution's origin the header is sent to (frontend.py names it so).
API_ORIGIN_ID = "api"


@dataclass(frozen=True, kw_only=True)
class OriginRotationArgs:
    """Inputs of the OriginRotation component."""

    environment_suffix: str
    """Ends every physical name. Required."""
    rotation_days: int
    """Days between two rotations (payments:originHeaderRotationDays, 1-1000). Required."""
    checks: OriginChecks
    """The header, its secret, and where the ALB checks it (ApiLoadBalancer.origin_checks).
    Required."""
    distribution_id: pulumi.Input[str]
    """The CloudFront distribution that sends it, from its ``api`` origin. Required."""
    distribution_arn: pulumi.Input[str]
    """That distribution's ARN. Required."""
    account_id: pulumi.Input[str]
    """The AWS account. Required."""
    log_kms_key_arn: pulumi.Input[str]
    """The logs key: the function's log group and its environment. Required."""


class OriginRotation(pulumi.ComponentResource):
    """The rotation function of the origin header, and its schedule."""

    def __init__(
        self, name: str, args: OriginRotationArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("payments:edge:OriginRotation", name, None, opts)
        suffix = args.environment_suffix
        child = pulumi.ResourceOptions(parent=self)
        checks = args.checks
        header = checks.header
        self.log_group = logs = log_group(
            f"{name}-logs",
            Names.origin_rotation_log_group,
            suffix,
            kms_key_arn=args.log_kms_key_arn,
            opts=child,
        )
        role = service_role(
            name,
            Names.origin_rotation_role,
            Names.origin_rotation_policy,
            service="lambda.amazonaws.com",
            description="CloudFront origin header rotation: the secret's versions, its key "
            "through Secrets Manager, the listener rule, the WAF rule group, the distribution",
            account_id=args.account_id,
            policy=pulumi.Output.all(
                secret_arn=header.secret_arn,
                key_arn=header.key_arn,
                listener_rule_arn=checks.listener_rule_arn,
                rule_group_arn=checks.rule_group_arn,
                distribution_arn=args.distribution_arn,
                log_group_arn=logs.arn,
                environment_key_arn=args.log_kms_key_arn,
            ).apply(lambda v: origin_rotation_policy(**v)),
            suffix=suffix,
            opts=child,
        )
        self.role_arn = role.role.arn
        function_name = physical_name(Names.origin_rotation_function, suffix)
        function = hardened_function(
            f"{name}-function",
            function_name=function_name,
            description="Rotates the CloudFront origin header: the secret, the ALB's listener "
            "rule and WAF rule group, CloudFront (functions/origin_header_rotation)",
            # boto3 comes with the runtime: the function's own modules are the whole archive.
            code=pulumi.AssetArchive(
                {n: pulumi.FileAsset(str(p)) for n, p in function_sources(ROTATION_SOURCE).items()}
            ),
            role=role,
            log_group=logs,
            memory_size=ROTATION_MEMORY_MB,
            timeout=ROTATION_TIMEOUT_SECONDS,
            reserved_concurrency=ROTATION_RESERVED_CONCURRENCY,
            # Where the places are, never a value (the README's "Environment").
            environment=aws.lambda_.FunctionEnvironmentArgs(
                variables={
                    "SECRET_ARN": header.secret_arn,
                    "LISTENER_RULE_ARN": checks.listener_rule_arn,
                    "RULE_GROUP_NAME": checks.rule_group_name,
                    "RULE_GROUP_ID": checks.rule_group_id,
                    "RULE_GROUP_SCOPE": "REGIONAL",
                    "DISTRIBUTION_ID": args.distribution_id,
                    "ORIGIN_ID": API_ORIGIN_ID,
                    "HEADER_NAME": header.name,
                }
            ),
            kms_key_arn=args.log_kms_key_arn,
            opts=child,
        )
        invoke = aws.lambda_.Permission(
            f"{name}-invoked-for-secret",
            aws.lambda_.PermissionArgs(
                function=function.name,
                action="lambda:InvokeFunction",
                principal="secretsmanager.amazonaws.com",
                source_arn=header.secret_arn,
                source_account=args.account_id,
            ),
            opts=child,
        )
        aws.secretsmanager.SecretRotation(
            f"{name}-schedule",
            aws.secretsmanager.SecretRotationArgs(
                secret_id=header.first_version.secret_id,
                rotation_lambda_arn=function.arn,
                rotation_rules=aws.secretsmanager.SecretRotationRotationRulesArgs(
                    automatically_after_days=args.rotation_days
                ),
                # No rotation during the `up` that creates the schedule: the function would
                # start on places a first deploy is still making (CloudFront deploying).
                rotate_immediately=False,
            ),
            # Whenever it first runs, the function must be allowed to, and find a first value.
            opts=after(child, header.first_version, invoke, role.policy),
        )
        self.function_name = function.name
        self.log_groups = [logs]
        self.alarms = origin_rotation_alarms(suffix)
        self.dashboard_widgets: list[DashboardWidget] = []
        self.register_outputs({"function_name": function.name, "role_arn": self.role_arn})


def origin_rotation_alarms(suffix: str) -> list[AlarmSpec]:
    """A failed rotation step: safe (the ALB accepts every value CloudFront may send), but the
    rotation stays failed until someone looks (functions/origin_header_rotation/README.md)."""
    function = physical_name(Names.origin_rotation_function, suffix)
    return [
        AlarmSpec(
            name=physical_name(Names.alarm_origin_rotation_errors, suffix),
            namespace="AWS/Lambda",
            metric="Errors",
            dimensions={"FunctionName": function},
            comparison="GreaterThanThreshold",
            threshold=0,
            why="A step of the CloudFront origin header's rotation failed. Nothing is refused "
            "(the ALB and its WAF accept the old and the new value), but the rotation is stuck.",
            action=f"Read {physical_name(Names.origin_rotation_log_group, suffix)} for the "
            "failed step and its AWS error code, fix its cause (a permission it names, "
            "CloudFront still deploying, a place changed by hand), then take AWSPENDING off "
            "the new version and rotate again: aws secretsmanager rotate-secret --secret-id "
            f"{physical_name(Names.origin_header_secret, suffix)} (docs/security.md, "
            "CloudFront origin header).",
            period=300,
            evaluation_periods=1,
        )
    ]


def origin_rotation_policy(
    *,
    secret_arn: str,
    key_arn: str,
    listener_rule_arn: str,
    rule_group_arn: str,
    distribution_arn: str,
    log_group_arn: str,
    environment_key_arn: str,
) -> str:
    """The function's README "IAM" table, each action on its one resource; then what every
    function of the stack needs: traces, and its environment's key through Lambda."""
    return policy_document(
        {
            "Sid": "RotateTheSecret",
            "Effect": "Allow",
            "Action": [
                "secretsmanager:DescribeSecret",
                "secretsmanager:GetSecretValue",
                "secretsmanager:PutSecretValue",
                "secretsmanager:UpdateSecretVersionStage",
            ],
            "Resource": [secret_arn],
        },
        {
            # GetSecretValue decrypts, PutSecretValue encrypts, through Secrets Manager only.
            "Sid": "UseTheSecretsKeyThroughSecretsManager",
            "Effect": "Allow",
            "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
            "Resource": [key_arn],
            "Condition": {"StringEquals": {"kms:ViaService": regional_service("secretsmanager")}},
        },
        {
            # ELB's Describe actions support no resource-level permissions: "*" only.
            "Sid": "ReadTheListenerRules",
            "Effect": "Allow",
            "Action": ["elasticloadbalancing:DescribeRules"],
            "Resource": ["*"],
        },
        {
            "Sid": "ModifyTheListenerRule",
            "Effect": "Allow",
            "Action": ["elasticloadbalancing:ModifyRule"],
            "Resource": [listener_rule_arn],
        },
        {
            "Sid": "UpdateTheRuleGroup",
            "Effect": "Allow",
            "Action": ["wafv2:GetRuleGroup", "wafv2:UpdateRuleGroup"],
            "Resource": [rule_group_arn],
        },
        {
            "Sid": "UpdateTheDistribution",
            "Effect": "Allow",
            "Action": [
                "cloudfront:GetDistribution",
                "cloudfront:GetDistributionConfig",
                "cloudfront:UpdateDistribution",
            ],
            "Resource": [distribution_arn],
        },
        {
            "Sid": "WriteItsLogs",
            "Effect": "Allow",
            "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
            "Resource": [f"{log_group_arn}:*"],
        },
        {
            "Sid": "DecryptItsEnvironmentThroughLambda",
            "Effect": "Allow",
            "Action": ["kms:Decrypt"],
            "Resource": [environment_key_arn],
            "Condition": {"StringEquals": {"kms:ViaService": regional_service("lambda")}},
        },
        {
            # What Lambda's active tracing needs; X-Ray's actions take no resource but "*".
            "Sid": "SendTraces",
            "Effect": "Allow",
            "Action": ["xray:PutTraceSegments", "xray:PutTelemetryRecords"],
            "Resource": ["*"],
        },
    )
