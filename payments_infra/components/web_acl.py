"""The frontend's WAF web ACL (CLOUDFRONT scope, PCI DSS 6.4.2) and its logs.

AWS's managed rule groups (common, known bad inputs, IP reputation, SQL injection) and a
per-IP rate limit; every request logged to ``aws-waf-logs-{suffix}`` (30 days).
"""

from __future__ import annotations

import pulumi
import pulumi_aws as aws

from payments_infra.aws.logs import log_group
from payments_infra.aws.naming import physical_name
from payments_infra.aws.tagging import name_tag

MANAGED_RULE_GROUPS = (
    "AWSManagedRulesCommonRuleSet",
    "AWSManagedRulesKnownBadInputsRuleSet",
    "AWSManagedRulesAmazonIpReputationList",
    "AWSManagedRulesSQLiRuleSet",
)


def _visibility(metric: str) -> aws.wafv2.WebAclRuleVisibilityConfigArgs:
    return aws.wafv2.WebAclRuleVisibilityConfigArgs(
        cloudwatch_metrics_enabled=True, metric_name=metric, sampled_requests_enabled=True
    )


def create_web_acl(
    name: str,
    suffix: str,
    *,
    rate_limit: int,
    log_kms_key_arn: pulumi.Input[str],
    opts: pulumi.ResourceOptions,
) -> tuple[aws.wafv2.WebAcl, aws.cloudwatch.LogGroup]:
    """The web ACL and the log group it logs to; ``name`` prefixes logical names."""
    rules = [
        aws.wafv2.WebAclRuleArgs(
            name=group,
            priority=index,
            override_action=aws.wafv2.WebAclRuleOverrideActionArgs(
                none=aws.wafv2.WebAclRuleOverrideActionNoneArgs()
            ),
            statement=aws.wafv2.WebAclRuleStatementArgs(
                managed_rule_group_statement=aws.wafv2.WebAclRuleStatementManagedRuleGroupStatementArgs(
                    name=group, vendor_name="AWS"
                )
            ),
            visibility_config=_visibility(group),
        )
        for index, group in enumerate(MANAGED_RULE_GROUPS)
    ]
    rules.append(
        aws.wafv2.WebAclRuleArgs(
            name="RateLimitPerIp",
            priority=len(MANAGED_RULE_GROUPS),
            action=aws.wafv2.WebAclRuleActionArgs(block=aws.wafv2.WebAclRuleActionBlockArgs()),
            statement=aws.wafv2.WebAclRuleStatementArgs(
                rate_based_statement=aws.wafv2.WebAclRuleStatementRateBasedStatementArgs(
                    limit=rate_limit, aggregate_key_type="IP", evaluation_window_sec=300
                )
            ),
            visibility_config=_visibility("RateLimitPerIp"),
        )
    )
    acl_name = physical_name("web_acl", suffix)
    web_acl = aws.wafv2.WebAcl(
        f"{name}-waf",
        aws.wafv2.WebAclArgs(
            name=acl_name,
            description="Public web app and API through CloudFront (PCI DSS 6.4.2)",
            scope="CLOUDFRONT",
            default_action=aws.wafv2.WebAclDefaultActionArgs(
                allow=aws.wafv2.WebAclDefaultActionAllowArgs()
            ),
            rules=rules,
            visibility_config=aws.wafv2.WebAclVisibilityConfigArgs(
                cloudwatch_metrics_enabled=True,
                metric_name=acl_name,
                sampled_requests_enabled=True,
            ),
            tags=name_tag(acl_name),
        ),
        opts=opts,
    )
    # WAF logs only to groups whose name starts with "aws-waf-logs-".
    waf_logs = log_group(
        f"{name}-waf-logs", "waf_log_group", suffix, kms_key_arn=log_kms_key_arn, opts=opts
    )
    aws.wafv2.WebAclLoggingConfiguration(
        f"{name}-waf-logging",
        aws.wafv2.WebAclLoggingConfigurationArgs(
            resource_arn=web_acl.arn, log_destination_configs=[waf_logs.arn]
        ),
        opts=opts,
    )
    return web_acl, waf_logs
