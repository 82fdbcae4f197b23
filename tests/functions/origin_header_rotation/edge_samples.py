"""The stack's three places that hold the origin header's value, as AWS's APIs return them
(payments_infra/components/edge/load_balancer.py, web_acl.py; components/frontend/frontend.py),
and the function's environment naming them."""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from typing import Any

REGION = "us-east-1"
ACCOUNT = "123456789012"
HEADER_NAME = "X-Origin-Verify"
LISTENER_RULE_ARN = (
    f"arn:aws:elasticloadbalancing:{REGION}:{ACCOUNT}:listener-rule/app/alb-dev/"
    "50dc6c495c0c9188/f2f7dc8efc522ab2/9683b2d02a6cabee"
)
RULE_GROUP_NAME = "waf-alb-cloudfront-origin-dev"
RULE_GROUP_ID = "a1b2c3d4-5678-90ab-cdef-0123456789ab"
RULE_GROUP_ARN = (
    f"arn:aws:wafv2:{REGION}:{ACCOUNT}:regional/rulegroup/{RULE_GROUP_NAME}/{RULE_GROUP_ID}"
)
DISTRIBUTION_ID = "E2QWRUHAPOMQZL"
ORIGIN_ID = "api"
TARGET_GROUP_ARN = (
    f"arn:aws:elasticloadbalancing:{REGION}:{ACCOUNT}:targetgroup/api-tg-dev/73e2d6bc24d8a067"
)
LABEL = "payments-cloudfront-origin"


def environment(secret_arn: str) -> dict[str, str]:
    """The function's environment as the stack would set it."""
    return {
        "SECRET_ARN": secret_arn,
        "LISTENER_RULE_ARN": LISTENER_RULE_ARN,
        "RULE_GROUP_NAME": RULE_GROUP_NAME,
        "RULE_GROUP_ID": RULE_GROUP_ID,
        "RULE_GROUP_SCOPE": "REGIONAL",
        "DISTRIBUTION_ID": DISTRIBUTION_ID,
        "ORIGIN_ID": ORIGIN_ID,
        "HEADER_NAME": HEADER_NAME,
    }


def header_condition(values: Sequence[str]) -> dict[str, Any]:
    return {
        "Field": "http-header",
        "HttpHeaderConfig": {"HttpHeaderName": HEADER_NAME, "Values": list(values)},
    }


def listener_rule(values: Sequence[str]) -> dict[str, Any]:
    """The priority-10 rule, as DescribeRules returns it."""
    return {
        "RuleArn": LISTENER_RULE_ARN,
        "Priority": "10",
        "Conditions": [header_condition(values)],
        "Actions": [
            {
                "Type": "forward",
                "TargetGroupArn": TARGET_GROUP_ARN,
                "Order": 1,
                "ForwardConfig": {"TargetGroups": [{"TargetGroupArn": TARGET_GROUP_ARN}]},
            }
        ],
        "IsDefault": False,
    }


def byte_match(value: str) -> dict[str, Any]:
    """The stack's ByteMatchStatement for one value (web_acl.py ``_origin_rule_group``)."""
    return {
        "ByteMatchStatement": {
            "SearchString": value.encode(),
            "FieldToMatch": {"SingleHeader": {"Name": HEADER_NAME.lower()}},
            "TextTransformations": [{"Priority": 0, "Type": "NONE"}],
            "PositionalConstraint": "EXACTLY",
        }
    }


def header_statement(values: Sequence[str]) -> dict[str, Any]:
    """One ByteMatchStatement for one value; an OrStatement of them for more."""
    if len(values) == 1:
        return byte_match(values[0])
    return {"OrStatement": {"Statements": [byte_match(value) for value in values]}}


def visibility(metric: str) -> dict[str, Any]:
    return {
        "SampledRequestsEnabled": True,
        "CloudWatchMetricsEnabled": True,
        "MetricName": metric,
    }


def rule_group(values: Sequence[str]) -> dict[str, Any]:
    """The rule group, as GetRuleGroup returns it."""
    return {
        "Name": RULE_GROUP_NAME,
        "Id": RULE_GROUP_ID,
        "Capacity": 10,
        "ARN": RULE_GROUP_ARN,
        "Description": "Labels the requests that carry the CloudFront origin header",
        "Rules": [
            {
                "Name": "FromCloudFront",
                "Priority": 0,
                "Statement": header_statement(values),
                "Action": {"Count": {}},
                "RuleLabels": [{"Name": LABEL}],
                "VisibilityConfig": visibility("FromCloudFront"),
            }
        ],
        "VisibilityConfig": visibility(RULE_GROUP_NAME),
        "LabelNamespace": f"awswaf:{ACCOUNT}:rulegroup:{RULE_GROUP_NAME}:",
        "AvailableLabels": [{"Name": f"awswaf:{ACCOUNT}:rulegroup:{RULE_GROUP_NAME}:{LABEL}"}],
    }


def distribution_config(value: str) -> dict[str, Any]:
    """The distribution's configuration, as GetDistributionConfig returns it (its parts the
    function reads, and enough of the rest to be whole)."""
    return {
        "CallerReference": "terraform-20250101000000000000000001",
        "Aliases": {"Quantity": 0},
        "DefaultRootObject": "index.html",
        "Origins": {
            "Quantity": 2,
            "Items": [
                {
                    "Id": "web",
                    "DomainName": "web-dev.s3.us-east-1.amazonaws.com",
                    "OriginPath": "",
                    "CustomHeaders": {"Quantity": 0},
                    "S3OriginConfig": {"OriginAccessIdentity": ""},
                    "OriginAccessControlId": "E1OACEXAMPLE",
                },
                {
                    "Id": ORIGIN_ID,
                    "DomainName": "api.example.com",
                    "OriginPath": "",
                    "CustomHeaders": {
                        "Quantity": 1,
                        "Items": [{"HeaderName": HEADER_NAME, "HeaderValue": value}],
                    },
                    "CustomOriginConfig": {
                        "HTTPPort": 80,
                        "HTTPSPort": 443,
                        "OriginProtocolPolicy": "https-only",
                        "OriginSslProtocols": {"Quantity": 1, "Items": ["TLSv1.2"]},
                    },
                },
            ],
        },
        "DefaultCacheBehavior": {
            "TargetOriginId": "web",
            "ViewerProtocolPolicy": "redirect-to-https",
            "CachePolicyId": "658327ea-f89d-4fab-a63d-7e88639e58f6",
        },
        "CacheBehaviors": {
            "Quantity": 1,
            "Items": [
                {
                    "PathPattern": "/api/*",
                    "TargetOriginId": ORIGIN_ID,
                    "ViewerProtocolPolicy": "https-only",
                    "CachePolicyId": "4135ea2d-6df8-44a3-9df3-4b5a84be39ad",
                }
            ],
        },
        "Comment": "payments web app (dev)",
        "Enabled": True,
        "WebACLId": f"arn:aws:wafv2:us-east-1:{ACCOUNT}:global/webacl/waf-cdn-dev/0f1e2d3c",
        "HttpVersion": "http2and3",
        "IsIPV6Enabled": True,
    }


def distribution(config: dict[str, Any], status: str) -> dict[str, Any]:
    """The distribution, as GetDistribution returns it."""
    return {
        "Id": DISTRIBUTION_ID,
        "ARN": f"arn:aws:cloudfront::{ACCOUNT}:distribution/{DISTRIBUTION_ID}",
        "Status": status,
        "LastModifiedTime": datetime.datetime(2025, 1, 1, tzinfo=datetime.UTC),
        "InProgressInvalidationBatches": 0,
        "DomainName": "d111111abcdef8.cloudfront.net",
        "DistributionConfig": config,
    }
