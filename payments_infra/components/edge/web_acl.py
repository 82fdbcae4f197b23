"""The stack's WAF web ACLs (PCI DSS 6.4.1, 6.4.2): one rule set, in front of CloudFront and
in front of the ALB, and their logs.

``create_web_acl`` makes one web ACL (CLOUDFRONT scope for the distribution, REGIONAL for the
ALB) with the same rules, in this order:
- AWS's managed rule groups: common rule set, known bad inputs, IP reputation, SQL injection;
- on the ALB, when CloudFront routes ``/api`` to it: a rule group that labels the requests
  carrying CloudFront's origin header (origin_header.py). The secret value sits in that one
  small group, so the web ACL's own rules stay readable in every preview and diff (Pulumi
  would show an input holding a secret only as ``[secret]``);
- a per-IP rate limit (``payments:wafRateLimit`` requests per 5 minutes). On the ALB, labelled
  requests are exempt: CloudFront's own web ACL limited them per viewer, and at the ALB they
  arrive from CloudFront's addresses, each shared by many viewers;
- a body-size rule: a body over the API's limit (16 KiB) is blocked, and so is a body larger
  than WAF can inspect (oversize handling ``MATCH``). WAF sees the first 8 KiB of a body on an
  ALB (fixed) and 16 KiB on CloudFront (its default; more costs extra: WAF API reference,
  ``Body.OversizeHandling``); a body it cannot see whole could hide an attack past that point
  from every other rule. So the ALB blocks bodies over 8 KiB (as the common rule set's
  SizeRestrictions_BODY does anyway), CloudFront those over 16 KiB.
Every request is logged to an ``aws-waf-logs-...`` log group (30 days, the logs key). The API
key, the idempotency key and the origin header are replaced by ``REDACTED`` in the logs and in
sampled requests (the web ACL's data protection; a logging configuration's redaction would
leave sampled requests untouched).

``waf_monitoring`` gives a web ACL's blocked-requests alarm and dashboard widget.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

import pulumi
import pulumi_aws as aws

from payments_infra.aws.logs import log_group
from payments_infra.aws.monitoring import AlarmSpec, DashboardWidget
from payments_infra.aws.tagging import name_tag
from payments_infra.components.edge.origin_header import ORIGIN_HEADER_NAME, OriginHeader, rotated
from payments_infra.config import REQUIRED_REGION
from payments_infra.config.naming import Names, PhysicalName, physical_name

Visibility = TypeVar("Visibility")
MANAGED_RULE_GROUPS = (
    "AWSManagedRulesCommonRuleSet",
    "AWSManagedRulesKnownBadInputsRuleSet",
    "AWSManagedRulesAmazonIpReputationList",
    "AWSManagedRulesSQLiRuleSet",
)
# The API refuses a larger body with 413 (app/api/payments_api/request_guards.py, MAX_BODY_BYTES).
API_BODY_LIMIT_BYTES = 16 * 1024
RATE_WINDOW_SECONDS = 300
# The label the origin rule group puts on CloudFront's requests. A label match may name just
# the label; the rule group's namespace (awswaf:<account>:rulegroup:<name>:) is implied.
CLOUDFRONT_ORIGIN_LABEL = "payments-cloudfront-origin"
# One exact match on one header with no transformation costs 2 WCU (WAF's capacity units);
# the capacity is fixed at creation, so leave room.
ORIGIN_RULE_GROUP_CAPACITY = 10
# Request headers WAF never shows in logs or sampled requests (lowercase: WAF's header keys).
PROTECTED_HEADERS = ("authorization", "idempotency-key", ORIGIN_HEADER_NAME.lower())


@dataclass(frozen=True, kw_only=True)
class WebAclSpec:
    """What differs between the stack's web ACLs."""

    scope: str
    """CLOUDFRONT (a distribution) or REGIONAL (an ALB)."""
    acl_name: PhysicalName
    """The naming.py key of the web ACL's name."""
    log_group_name: PhysicalName
    """The naming.py key of its log group; the name must start with ``aws-waf-logs-``."""
    description: str
    rate_limit: int
    """Requests per client IP per 5 minutes (payments:wafRateLimit)."""
    trusted_origin: OriginHeader | None = None
    """Requests with this header are exempt from the rate limit (CloudFront, at the ALB)."""


def _visible(kind: Callable[..., Visibility], metric: str) -> Visibility:
    """CloudWatch metrics and sampled requests on, for a web ACL, a rule group or a rule
    (each has its own Args class with the same three fields)."""
    return kind(cloudwatch_metrics_enabled=True, metric_name=metric, sampled_requests_enabled=True)


def _visibility(metric: str) -> aws.wafv2.WebAclRuleVisibilityConfigArgs:
    return _visible(aws.wafv2.WebAclRuleVisibilityConfigArgs, metric)


def _blocking_rule(
    name: str, priority: int, statement: aws.wafv2.WebAclRuleStatementArgs
) -> aws.wafv2.WebAclRuleArgs:
    """A rule of our own that blocks what its statement matches."""
    return aws.wafv2.WebAclRuleArgs(
        name=name,
        priority=priority,
        action=aws.wafv2.WebAclRuleActionArgs(block=aws.wafv2.WebAclRuleActionBlockArgs()),
        statement=statement,
        visibility_config=_visibility(name),
    )


def _managed_group_rule(group: str, priority: int) -> aws.wafv2.WebAclRuleArgs:
    return aws.wafv2.WebAclRuleArgs(
        name=group,
        priority=priority,
        override_action=aws.wafv2.WebAclRuleOverrideActionArgs(
            none=aws.wafv2.WebAclRuleOverrideActionNoneArgs()  # type: ignore[no-untyped-call]
        ),
        statement=aws.wafv2.WebAclRuleStatementArgs(
            managed_rule_group_statement=aws.wafv2.WebAclRuleStatementManagedRuleGroupStatementArgs(
                name=group, vendor_name="AWS"
            )
        ),
        visibility_config=_visibility(group),
    )


def _not_labelled() -> aws.wafv2.WebAclRuleStatementRateBasedStatementScopeDownStatementArgs:
    """Requests the origin rule group did not label (not from CloudFront)."""
    scope_down = aws.wafv2.WebAclRuleStatementRateBasedStatementScopeDownStatementArgs
    return scope_down(
        not_statement=aws.wafv2.WebAclRuleStatementRateBasedStatementScopeDownStatementNotStatementArgs(
            statement=scope_down(
                label_match_statement=aws.wafv2.WebAclRuleStatementRateBasedStatementScopeDownStatementLabelMatchStatementArgs(
                    scope="LABEL", key=CLOUDFRONT_ORIGIN_LABEL
                )
            )
        )
    )


def _origin_rule_group(
    name: str, suffix: str, origin: OriginHeader, opts: pulumi.ResourceOptions
) -> aws.wafv2.RuleGroup:
    """Counts, and labels, each request whose origin header has exactly the secret value."""
    group_name = physical_name(Names.alb_waf_origin_rule_group, suffix)
    return aws.wafv2.RuleGroup(
        f"{name}-waf-origin",
        aws.wafv2.RuleGroupArgs(
            name=group_name,
            description="Labels the requests that carry the CloudFront origin header",
            scope="REGIONAL",
            capacity=ORIGIN_RULE_GROUP_CAPACITY,
            rules=[
                aws.wafv2.RuleGroupRuleArgs(
                    name="FromCloudFront",
                    priority=0,
                    action=aws.wafv2.RuleGroupRuleActionArgs(
                        count=aws.wafv2.RuleGroupRuleActionCountArgs()
                    ),
                    rule_labels=[
                        aws.wafv2.RuleGroupRuleRuleLabelArgs(name=CLOUDFRONT_ORIGIN_LABEL)
                    ],
                    statement=aws.wafv2.RuleGroupRuleStatementArgs(
                        byte_match_statement=aws.wafv2.RuleGroupRuleStatementByteMatchStatementArgs(
                            search_string=origin.value,
                            positional_constraint="EXACTLY",
                            field_to_match=aws.wafv2.RuleGroupRuleStatementByteMatchStatementFieldToMatchArgs(
                                single_header=aws.wafv2.RuleGroupRuleStatementByteMatchStatementFieldToMatchSingleHeaderArgs(
                                    name=origin.name.lower()
                                )
                            ),
                            text_transformations=[
                                aws.wafv2.RuleGroupRuleStatementByteMatchStatementTextTransformationArgs(
                                    priority=0, type="NONE"
                                )
                            ],
                        )
                    ),
                    visibility_config=_visible(
                        aws.wafv2.RuleGroupRuleVisibilityConfigArgs, "FromCloudFront"
                    ),
                )
            ],
            visibility_config=_visible(aws.wafv2.RuleGroupVisibilityConfigArgs, group_name),
            tags=name_tag(group_name),
        ),
        # The rotation rewrites the statement (one ByteMatch per value it accepts).
        opts=rotated("aws:wafv2/ruleGroup:RuleGroup", opts),
    )


def _label_origin_rule(group: aws.wafv2.RuleGroup, priority: int) -> aws.wafv2.WebAclRuleArgs:
    return aws.wafv2.WebAclRuleArgs(
        name="LabelCloudFrontOrigin",
        priority=priority,
        override_action=aws.wafv2.WebAclRuleOverrideActionArgs(
            none=aws.wafv2.WebAclRuleOverrideActionNoneArgs()  # type: ignore[no-untyped-call]
        ),
        statement=aws.wafv2.WebAclRuleStatementArgs(
            rule_group_reference_statement=aws.wafv2.WebAclRuleStatementRuleGroupReferenceStatementArgs(
                arn=group.arn
            )
        ),
        visibility_config=_visibility("LabelCloudFrontOrigin"),
    )


def _rate_limit_rule(spec: WebAclSpec, priority: int) -> aws.wafv2.WebAclRuleArgs:
    exempt_cloudfront = spec.trusted_origin is not None
    return _blocking_rule(
        "RateLimitPerIp",
        priority,
        aws.wafv2.WebAclRuleStatementArgs(
            rate_based_statement=aws.wafv2.WebAclRuleStatementRateBasedStatementArgs(
                limit=spec.rate_limit,
                aggregate_key_type="IP",
                evaluation_window_sec=RATE_WINDOW_SECONDS,
                scope_down_statement=_not_labelled() if exempt_cloudfront else None,
            )
        ),
    )


def _body_size_rule(priority: int) -> aws.wafv2.WebAclRuleArgs:
    return _blocking_rule(
        "BodyOverApiLimit",
        priority,
        aws.wafv2.WebAclRuleStatementArgs(
            size_constraint_statement=aws.wafv2.WebAclRuleStatementSizeConstraintStatementArgs(
                comparison_operator="GT",
                size=API_BODY_LIMIT_BYTES,
                field_to_match=aws.wafv2.WebAclRuleStatementSizeConstraintStatementFieldToMatchArgs(
                    # Past the inspection limit WAF cannot measure or read the rest: block.
                    body=aws.wafv2.WebAclRuleStatementSizeConstraintStatementFieldToMatchBodyArgs(
                        oversize_handling="MATCH"
                    )
                ),
                text_transformations=[
                    aws.wafv2.WebAclRuleStatementSizeConstraintStatementTextTransformationArgs(
                        priority=0, type="NONE"
                    )
                ],
            )
        ),
    )


def _data_protection() -> aws.wafv2.WebAclDataProtectionConfigArgs:
    return aws.wafv2.WebAclDataProtectionConfigArgs(
        data_protections=[
            aws.wafv2.WebAclDataProtectionConfigDataProtectionArgs(
                action="SUBSTITUTION",
                field=aws.wafv2.WebAclDataProtectionConfigDataProtectionFieldArgs(
                    field_type="SINGLE_HEADER", field_keys=list(PROTECTED_HEADERS)
                ),
            )
        ]
    )


def create_web_acl(
    name: str,
    suffix: str,
    spec: WebAclSpec,
    *,
    log_kms_key_arn: pulumi.Input[str],
    opts: pulumi.ResourceOptions,
) -> tuple[aws.wafv2.WebAcl, aws.cloudwatch.LogGroup, aws.wafv2.RuleGroup | None]:
    """The web ACL, the log group it logs to, and the rule group that labels the trusted
    origin's requests (None without one); ``name`` prefixes logical names."""
    rules = [_managed_group_rule(g, i) for i, g in enumerate(MANAGED_RULE_GROUPS)]
    group = None
    if spec.trusted_origin is not None:
        group = _origin_rule_group(name, suffix, spec.trusted_origin, opts)
        rules.append(_label_origin_rule(group, len(rules)))
    rules.append(_rate_limit_rule(spec, len(rules)))
    rules.append(_body_size_rule(len(rules)))
    acl_name = physical_name(spec.acl_name, suffix)
    web_acl = aws.wafv2.WebAcl(
        f"{name}-waf",
        aws.wafv2.WebAclArgs(
            name=acl_name,
            description=spec.description,
            scope=spec.scope,
            default_action=aws.wafv2.WebAclDefaultActionArgs(
                allow=aws.wafv2.WebAclDefaultActionAllowArgs()
            ),
            rules=rules,
            data_protection_config=_data_protection(),
            visibility_config=_visible(aws.wafv2.WebAclVisibilityConfigArgs, acl_name),
            tags=name_tag(acl_name),
        ),
        opts=opts,
    )
    # WAF logs only to groups whose name starts with "aws-waf-logs-".
    waf_logs = log_group(
        f"{name}-waf-logs", spec.log_group_name, suffix, kms_key_arn=log_kms_key_arn, opts=opts
    )
    aws.wafv2.WebAclLoggingConfiguration(
        f"{name}-waf-logging",
        aws.wafv2.WebAclLoggingConfigurationArgs(
            resource_arn=web_acl.arn, log_destination_configs=[waf_logs.arn]
        ),
        opts=opts,
    )
    return web_acl, waf_logs, group


def waf_monitoring(
    web_acl_name: pulumi.Input[str],
    scope: str,
    *,
    alarm_name: PhysicalName,
    log_group_name: PhysicalName,
    where: str,
    title: str,
    suffix: str,
) -> tuple[AlarmSpec, DashboardWidget]:
    """A web ACL's alarm on a spike of blocked requests, and its allowed/blocked widget;
    ``log_group_name`` names the web ACL's log group, where the alarm's action looks.

    A regional web ACL's metrics carry the region as a dimension; CloudFront's do not."""
    dimensions: dict[str, pulumi.Input[str]] = {"WebACL": web_acl_name, "Rule": "ALL"}
    if scope == "REGIONAL":
        dimensions["Region"] = REQUIRED_REGION
    by_web_acl = [part for pair in dimensions.items() for part in pair]
    alarm = AlarmSpec(
        name=physical_name(alarm_name, suffix),
        namespace="AWS/WAFV2",
        metric="BlockedRequests",
        dimensions=dimensions,
        comparison="GreaterThanThreshold",
        threshold=1000,
        why=f"A spike of blocked requests {where}: "
        "an attack or a false positive locking users out.",
        action=f"Logs Insights on {physical_name(log_group_name, suffix)}: filter action = "
        '"BLOCK" | stats count(*) by terminatingRuleId, httpRequest.clientIp. Many addresses: '
        "an attack, leave it blocked; one merchant's address on RateLimitPerIp: "
        "payments:wafRateLimit (docs/deploy.md, On-call: capacity limits).",
        period=300,
        evaluation_periods=1,
    )
    widget = DashboardWidget(
        title=title,
        metrics=[
            ["AWS/WAFV2", "AllowedRequests", *by_web_acl],
            ["AWS/WAFV2", "BlockedRequests", *by_web_acl],
        ],
    )
    return alarm, widget
