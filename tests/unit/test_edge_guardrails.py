"""The ALB's own REGIONAL web ACL, over the whole graph: associated with the ALB, AWS's
managed rule groups then a per-IP rate limit and a body-size rule that blocks what WAF cannot
inspect, logged to an ``aws-waf-logs-*`` group with API keys and the origin header redacted;
and every edge check passing in every certificate mode and ingress.

What the listener forwards and CloudFront's origin header: test_edge_listener.py; CloudFront's
TLS flag: test_edge_cloudfront_tls.py.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from payments_infra import REPO_ROOT
from payments_infra.components.edge.origin_header import ORIGIN_HEADER_NAME
from payments_infra.components.edge.web_acl import (
    API_BODY_LIMIT_BYTES,
    MANAGED_RULE_GROUPS,
    PROTECTED_HEADERS,
)
from payments_infra.config import name_rules, naming
from payments_infra.offline import checks_edge
from payments_infra.offline.creation_order import check_creation_order
from payments_infra.offline.graph import Graph
from payments_infra.offline.mocks import record_program
from policy.offline_validation import args_for, violations
from tests.edge_queries import RULE, WEB_ACL, alb_acl, one, rules_by_name
from tests.stacks import SUFFIX, VALID_CONFIG

ASSOCIATION = "aws:wafv2/webAclAssociation:WebAclAssociation"
LOGGING = "aws:wafv2/webAclLoggingConfiguration:WebAclLoggingConfiguration"


def test_every_edge_check_passes_in_every_mode(any_graph: Graph) -> None:
    assert checks_edge.check_web_acl_rules(any_graph) == []
    assert checks_edge.check_waf_coverage(any_graph) == []
    assert checks_edge.check_listeners_deny_by_default(any_graph) == []
    assert checks_edge.check_origin_header(any_graph) == []
    assert check_creation_order(any_graph) == []


def test_the_alb_is_associated_with_its_regional_web_acl(any_graph: Graph) -> None:
    alb = any_graph.of_type("aws:lb/loadBalancer:LoadBalancer")[0]
    acl = alb_acl(any_graph)
    association = one(any_graph, ASSOCIATION, lambda a: True)
    assert association.inputs == {
        "resourceArn": alb.outputs["arn"],
        "webAclArn": acl.outputs["arn"],
    }
    assert acl.inputs["name"] == f"waf-alb-{SUFFIX}"


def test_an_alb_without_its_web_acl_is_caught(graph: Graph) -> None:
    association = one(graph, ASSOCIATION, lambda a: True)
    problems = checks_edge.check_waf_coverage(graph.without(association.urn))
    assert problems == [
        "aws:lb/loadBalancer:LoadBalancer alb has no REGIONAL web ACL: its API bypasses WAF"
    ]


def test_the_alb_acl_has_the_managed_groups_then_the_rate_and_body_rules(graph: Graph) -> None:
    rules = rules_by_name(alb_acl(graph))
    assert list(rules) == [*MANAGED_RULE_GROUPS, "RateLimitPerIp", "BodyOverApiLimit"]
    assert [rules[name]["priority"] for name in rules] == list(range(len(rules)))
    rate = rules["RateLimitPerIp"]
    assert rate["statement"]["rateBasedStatement"]["limit"] == 2000  # payments:wafRateLimit
    assert rate["statement"]["rateBasedStatement"]["aggregateKeyType"] == "IP"
    assert "block" in rate["action"]
    size = rules["BodyOverApiLimit"]["statement"]["sizeConstraintStatement"]
    assert (size["comparisonOperator"], size["size"]) == ("GT", API_BODY_LIMIT_BYTES)
    # WAF sees 8 KiB of an ALB's body: what it cannot see is blocked, not waved through.
    assert size["fieldToMatch"] == {"body": {"oversizeHandling": "MATCH"}}
    assert "block" in rules["BodyOverApiLimit"]["action"]


def test_the_rate_limit_setting_reaches_both_web_acls() -> None:
    limited = record_program({**VALID_CONFIG, "payments:wafRateLimit": "500"}, stack="test")
    limits = [
        rules_by_name(acl)["RateLimitPerIp"]["statement"]["rateBasedStatement"]["limit"]
        for acl in limited.of_type(WEB_ACL)
    ]
    assert limits == [500, 500]


def test_the_api_body_limit_is_the_apis_own() -> None:
    source = (REPO_ROOT / "app" / "api" / "payments_api" / "request_guards.py").read_text()
    assert "\nMAX_BODY_BYTES = 16 * 1024\n" in source
    assert API_BODY_LIMIT_BYTES == checks_edge.MAX_BODY_BYTES == 16 * 1024


def named_rule(rules: list[dict[str, Any]], name: str) -> dict[str, Any]:
    return next(r for r in rules if r["name"] == name)


def body_size(rules: list[dict[str, Any]]) -> dict[str, Any]:
    statement: dict[str, Any] = named_rule(rules, "BodyOverApiLimit")["statement"]
    size: dict[str, Any] = statement["sizeConstraintStatement"]
    return size


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            lambda rules: rules.pop(0),
            "lacks the managed rule groups ['AWSManagedRulesCommonRuleSet']",
        ),
        (
            lambda rules: named_rule(rules, "RateLimitPerIp").update(action={"count": {}}),
            "has no blocking rate-based rule",
        ),
        (
            lambda rules: body_size(rules)["fieldToMatch"]["body"].update(
                oversizeHandling="CONTINUE"
            ),
            "has no rule blocking bodies over 16384 bytes",
        ),
        (
            lambda rules: body_size(rules).update(size=65536.0),
            "has no rule blocking bodies over 16384 bytes",
        ),
    ],
)
def test_a_weakened_web_acl_is_caught_by_the_check_and_the_pack(
    graph: Graph, change: Callable[[list[dict[str, Any]]], object], message: str
) -> None:
    acl = alb_acl(graph)
    change(acl.inputs["rules"])
    problems = checks_edge.check_web_acl_rules(graph)
    assert len(problems) == 1 and message in problems[0], problems
    found = violations(RULE["waf-rules"], args_for(acl, graph))
    assert found == [f"PCI DSS 6.4.2: {problems[0]}"]


def test_the_alb_acl_logs_to_an_aws_waf_logs_group_kept_30_days(graph: Graph) -> None:
    acl = alb_acl(graph)
    logging = one(graph, LOGGING, lambda c: c.inputs["resourceArn"] == acl.outputs["arn"])
    (destination,) = logging.inputs["logDestinationConfigs"]
    group = one(
        graph, "aws:cloudwatch/logGroup:LogGroup", lambda g: g.outputs["arn"] == destination
    )
    assert group.inputs["name"] == f"aws-waf-logs-alb-{SUFFIX}"
    assert group.inputs["retentionInDays"] == 30
    logs_key = one(graph, "aws:kms/key:Key", lambda k: k.name == "logs-key-key")
    assert group.inputs["kmsKeyId"] == logs_key.outputs["arn"]


def test_a_web_acl_logging_nowhere_or_briefly_is_caught(graph: Graph) -> None:
    acl = alb_acl(graph)
    logging = one(graph, LOGGING, lambda c: c.inputs["resourceArn"] == acl.outputs["arn"])
    message = f"{WEB_ACL} alb-waf logs to no aws-waf-logs-* log group kept 30 days"
    assert checks_edge.check_waf_coverage(graph.without(logging.urn)) == [message]
    group = one(graph, "aws:cloudwatch/logGroup:LogGroup", lambda g: g.name == "alb-waf-logs")
    group.inputs["retentionInDays"] = 7
    assert checks_edge.check_waf_coverage(graph) == [message]


def test_waf_names_fit_their_limits_at_the_longest_suffix() -> None:
    longest = "a" * naming.MAX_SUFFIX_LENGTH
    names = naming.Names
    for entry in (names.web_acl, names.alb_web_acl, names.alb_waf_origin_rule_group):
        name = naming.physical_name(entry, longest)
        assert name_rules.WAF_NAME.problems(name) == [], name
        assert len(name) <= 128
    for entry in (names.waf_log_group, names.alb_waf_log_group):
        name = naming.physical_name(entry, longest)
        assert name.startswith("aws-waf-logs-") and name_rules.LOG_GROUP.problems(name) == []
    assert (
        name_rules.SECRET.problems(naming.physical_name(naming.Names.origin_header_secret, longest))
        == []
    )


def test_api_keys_and_the_origin_header_never_show_in_waf_logs_or_samples(graph: Graph) -> None:
    for acl in graph.of_type(WEB_ACL):
        (protection,) = acl.inputs["dataProtectionConfig"]["dataProtections"]
        assert protection["action"] == "SUBSTITUTION"
        assert protection["field"]["fieldType"] == "SINGLE_HEADER"
        assert set(protection["field"]["fieldKeys"]) == set(PROTECTED_HEADERS)
    assert {"authorization", ORIGIN_HEADER_NAME.lower()} <= set(PROTECTED_HEADERS)
