"""No path to the API around a WAF, and CloudFront's TLS flag (issue 16), over the whole graph.

The ALB has its own REGIONAL web ACL; its listener answers 403 to what no rule forwards; with
``albIngress: cloudfront`` only CloudFront's secret origin header is forwarded, and CloudFront
sends it; the value is a secret from ``pulumi_random`` kept in Secrets Manager. Where CloudFront
keeps its default certificate (TLSv1 forced), the plan and the policy pack say so.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

import pytest

from payments_infra import REPO_ROOT
from payments_infra.aws import naming
from payments_infra.components.load_balancer import API_PATHS
from payments_infra.components.origin_header import ORIGIN_HEADER_LENGTH, ORIGIN_HEADER_NAME
from payments_infra.components.web_acl import (
    API_BODY_LIMIT_BYTES,
    CLOUDFRONT_ORIGIN_LABEL,
    MANAGED_RULE_GROUPS,
    PROTECTED_HEADERS,
)
from payments_infra.offline import checks_edge
from payments_infra.offline.checks_access import cloudfront_default_certificate
from payments_infra.offline.creation_order import check_creation_order
from payments_infra.offline.graph import Graph, Resource, SecretValue, revealed
from payments_infra.offline.mocks import MOCK_PASSWORD, record_program
from payments_infra.offline.plan import production_warnings
from policy.rules import RULES, STACK_RULES, args_for, violations
from tests.stacks import CERT_ARN, DNS, SUFFIX, VALID_CONFIG

WEB_ACL = "aws:wafv2/webAcl:WebAcl"
ASSOCIATION = "aws:wafv2/webAclAssociation:WebAclAssociation"
LOGGING = "aws:wafv2/webAclLoggingConfiguration:WebAclLoggingConfiguration"
LISTENER = "aws:lb/listener:Listener"
LISTENER_RULE = "aws:lb/listenerRule:ListenerRule"
DISTRIBUTION = "aws:cloudfront/distribution:Distribution"
RULE = {rule.name: rule for rule in RULES}
# Certificate mode 2 with an /api origin but no certificate of CloudFront's own.
EXISTING_WITHOUT_CLOUDFRONT_CERTIFICATE = {
    "payments:certificateArn": CERT_ARN,
    "payments:apiDomainName": "api.pay.example.com",
}


@pytest.fixture(scope="module")
def cloudfront_only_graph() -> Graph:
    """Mode 1 with ``albIngress: cloudfront``: the ALB admits CloudFront's prefix list only."""
    return record_program(
        {**VALID_CONFIG, **DNS, "payments:albIngress": "cloudfront"}, stack="test"
    )


@pytest.fixture(scope="module")
def no_cloudfront_certificate_graph() -> Graph:
    return record_program({**VALID_CONFIG, **EXISTING_WITHOUT_CLOUDFRONT_CERTIFICATE}, stack="test")


MODES = {
    "self-signed": "recorded_graph",
    "dns": "dns_graph",
    "existing": "existing_graph",
    "cloudfront-only": "cloudfront_only_graph",
    "existing-no-cf": "no_cloudfront_certificate_graph",
}


@pytest.fixture(params=sorted(MODES))
def any_graph(request: pytest.FixtureRequest) -> Graph:
    """Each certificate mode and ingress, as a private copy a test may break."""
    recorded: Graph = request.getfixturevalue(MODES[request.param])
    return copy.deepcopy(recorded)


def one(graph: Graph, type_token: str, where: Callable[[Resource], bool]) -> Resource:
    (resource,) = [r for r in graph.of_type(type_token) if where(r)]
    return resource


def alb_acl(graph: Graph) -> Resource:
    return one(graph, WEB_ACL, lambda acl: acl.inputs["scope"] == "REGIONAL")


def rules_by_name(acl: Resource) -> dict[str, dict[str, Any]]:
    return {rule["name"]: rule for rule in acl.inputs["rules"]}


def forwarding_rules(graph: Graph) -> dict[str, Resource]:
    return {r.name: r for r in graph.of_type(LISTENER_RULE)}


def api_origin(graph: Graph) -> dict[str, Any]:
    cdn = graph.of_type(DISTRIBUTION)[0]
    (origin,) = [o for o in revealed(cdn.inputs["origins"]) if o["originId"] == "api"]
    return dict(origin)


# -- the ALB's own web ACL ---------------------------------------------------------------------


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
        "aws:lb/loadBalancer:LoadBalancer api-alb has no REGIONAL web ACL: its API bypasses WAF"
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
    message = f"{WEB_ACL} api-waf logs to no aws-waf-logs-* log group kept 30 days"
    assert checks_edge.check_waf_coverage(graph.without(logging.urn)) == [message]
    group = one(graph, "aws:cloudwatch/logGroup:LogGroup", lambda g: g.name == "api-waf-logs")
    group.inputs["retentionInDays"] = 7
    assert checks_edge.check_waf_coverage(graph) == [message]


def test_waf_names_fit_their_limits_at_the_longest_suffix() -> None:
    longest = "a" * naming.MAX_SUFFIX_LENGTH
    for key in ("web_acl", "alb_web_acl", "alb_waf_origin_rule_group"):
        name = naming.physical_name(key, longest)
        assert naming.WAF_NAME.problems(name) == [], name
        assert len(name) <= 128
    for key in ("waf_log_group", "alb_waf_log_group"):
        name = naming.physical_name(key, longest)
        assert name.startswith("aws-waf-logs-") and naming.LOG_GROUP.problems(name) == []
    assert naming.SECRET.problems(naming.physical_name("origin_header_secret", longest)) == []


def test_api_keys_and_the_origin_header_never_show_in_waf_logs_or_samples(graph: Graph) -> None:
    for acl in graph.of_type(WEB_ACL):
        (protection,) = acl.inputs["dataProtectionConfig"]["dataProtections"]
        assert protection["action"] == "SUBSTITUTION"
        assert protection["field"]["fieldType"] == "SINGLE_HEADER"
        assert set(protection["field"]["fieldKeys"]) == set(PROTECTED_HEADERS)
    assert {"authorization", ORIGIN_HEADER_NAME.lower()} <= set(PROTECTED_HEADERS)


# -- what the listener forwards ----------------------------------------------------------------


def test_the_listener_answers_403_to_what_no_rule_forwards(any_graph: Graph) -> None:
    (listener,) = any_graph.of_type(LISTENER)
    assert listener.inputs["defaultActions"] == [
        {
            "type": "fixed-response",
            "fixedResponse": {
                "contentType": "application/json",
                "messageBody": '{"detail": "forbidden"}',
                "statusCode": "403",
            },
        }
    ]


def test_a_listener_forwarding_by_default_is_caught_by_the_check_and_the_pack(graph: Graph) -> None:
    (listener,) = graph.of_type(LISTENER)
    target = graph.of_type("aws:lb/targetGroup:TargetGroup")[0].outputs["arn"]
    listener.inputs["defaultActions"] = [{"type": "forward", "targetGroupArn": target}]
    problems = checks_edge.check_listeners_deny_by_default(graph)
    assert problems == [
        f"{LISTENER} api-https does not answer 403 by default: whatever no rule forwards "
        "would reach the tasks"
    ]
    found = violations(RULE["alb-deny-by-default"], args_for(listener, graph))
    assert found == [f"PCI DSS 6.4.2: {problems[0]}"]


def test_cloudfront_only_ingress_forwards_only_the_origin_header(
    cloudfront_only_graph: Graph,
) -> None:
    rules = forwarding_rules(cloudfront_only_graph)
    assert list(rules) == ["api-rule-from-cloudfront"]
    rule = rules["api-rule-from-cloudfront"]
    # The engine marks the whole input secret, since one value in it is.
    assert isinstance(rule.inputs["conditions"], SecretValue)
    assert revealed(rule.inputs["conditions"]) == [
        {"httpHeader": {"httpHeaderName": ORIGIN_HEADER_NAME, "values": [MOCK_PASSWORD]}}
    ]
    target = cloudfront_only_graph.of_type("aws:lb/targetGroup:TargetGroup")[0]
    assert rule.inputs["actions"] == [{"type": "forward", "targetGroupArn": target.outputs["arn"]}]


def test_internet_ingress_forwards_the_api_paths_and_cloudfronts_header(dns_graph: Graph) -> None:
    rules = forwarding_rules(dns_graph)
    assert sorted(rules) == ["api-rule-api-paths", "api-rule-from-cloudfront"]
    paths = rules["api-rule-api-paths"].inputs["conditions"]
    assert paths == [{"pathPattern": {"values": list(API_PATHS)}}]
    assert API_PATHS == ("/api/*", "/healthz", "/readyz")
    priorities = {name: r.inputs["priority"] for name, r in rules.items()}
    assert priorities["api-rule-from-cloudfront"] < priorities["api-rule-api-paths"]


def test_without_a_cloudfront_api_origin_there_is_no_origin_header(graph: Graph) -> None:
    assert list(forwarding_rules(graph)) == ["api-rule-api-paths"]
    assert not [s for s in graph.of_type("aws:secretsmanager/secret:Secret") if "origin" in s.name]
    assert "LabelCloudFrontOrigin" not in rules_by_name(alb_acl(graph))


def test_cloudfronts_api_origin_sends_the_header_the_listener_requires(
    cloudfront_only_graph: Graph,
) -> None:
    origin = api_origin(cloudfront_only_graph)
    rule = forwarding_rules(cloudfront_only_graph)["api-rule-from-cloudfront"]
    (condition,) = revealed(rule.inputs["conditions"])
    assert origin["customHeaders"] == [
        {"name": ORIGIN_HEADER_NAME, "value": condition["httpHeader"]["values"][0]}
    ]
    cdn = cloudfront_only_graph.of_type(DISTRIBUTION)[0]
    assert isinstance(cdn.inputs["origins"], SecretValue)


def test_the_header_value_is_random_kept_in_secrets_manager_and_no_config(
    cloudfront_only_graph: Graph,
) -> None:
    graph = cloudfront_only_graph
    (password,) = [
        r for r in graph.of_type("random:index/randomPassword:RandomPassword") if "origin" in r.name
    ]
    assert password.inputs == {
        "length": ORIGIN_HEADER_LENGTH,
        "upper": False,
        "lower": True,
        "numeric": True,
        "special": False,
    }
    secret = one(graph, "aws:secretsmanager/secret:Secret", lambda s: "origin" in s.name)
    assert secret.inputs["name"] == f"cloudfront-origin-header-{SUFFIX}"
    assert secret.inputs["recoveryWindowInDays"] == 0
    key = one(graph, "aws:kms/key:Key", lambda k: k.outputs["arn"] == secret.inputs["kmsKeyId"])
    assert key.name == "api-origin-header-key" and key.inputs["enableKeyRotation"] is True
    version = one(
        graph,
        "aws:secretsmanager/secretVersion:SecretVersion",
        lambda v: v.inputs["secretId"] == secret.id,
    )
    assert isinstance(version.inputs["secretString"], SecretValue)
    assert revealed(version.inputs["secretString"]) == MOCK_PASSWORD
    # The listener rule and the distribution take the value from the random resource.
    rule = forwarding_rules(graph)["api-rule-from-cloudfront"]
    cdn = graph.of_type(DISTRIBUTION)[0]
    assert password.urn in rule.dependencies and password.urn in cdn.dependencies
    # No setting holds it: it is not configuration.
    assert not any(key.startswith("payments:origin") for key in VALID_CONFIG)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            lambda g: forwarding_rules(g)["api-rule-from-cloudfront"].inputs.update(
                conditions=[{"pathPattern": {"values": ["/api/*"]}}]
            ),
            "forwards requests without CloudFront's origin header",
        ),
        (
            lambda g: revealed_origins(g)[1].pop("customHeaders"),
            "no origin header a listener rule accepts",
        ),
        (
            lambda g: revealed_origins(g)[1]["customHeaders"][0].update(value="guessable"),
            "no origin header a listener rule accepts",
        ),
        (
            lambda g: forwarding_rules(g)["api-rule-from-cloudfront"].inputs.update(
                conditions=revealed(
                    forwarding_rules(g)["api-rule-from-cloudfront"].inputs["conditions"]
                )
            ),
            "with a value that is no secret",
        ),
    ],
)
def test_a_way_around_the_origin_header_is_caught(
    cloudfront_only_graph: Graph, change: Callable[[Graph], object], message: str
) -> None:
    broken = copy.deepcopy(cloudfront_only_graph)
    change(broken)
    problems = checks_edge.check_origin_header(broken)
    assert any(message in p for p in problems), problems


def revealed_origins(graph: Graph) -> list[dict[str, Any]]:
    """The distribution's origins, made plain in place so a test can change them."""
    cdn = graph.of_type(DISTRIBUTION)[0]
    cdn.inputs["origins"] = revealed(cdn.inputs["origins"])
    origins: list[dict[str, Any]] = cdn.inputs["origins"]
    return origins


def test_cloudfront_is_exempt_from_the_albs_per_ip_limit_by_its_header(
    cloudfront_only_graph: Graph,
) -> None:
    """At the ALB, CloudFront's requests come from its addresses, each shared by many viewers;
    CloudFront's own web ACL limited them per viewer already."""
    graph = cloudfront_only_graph
    acl = alb_acl(graph)
    rules = rules_by_name(acl)
    assert list(rules) == [
        *MANAGED_RULE_GROUPS,
        "LabelCloudFrontOrigin",
        "RateLimitPerIp",
        "BodyOverApiLimit",
    ]
    group = one(graph, "aws:wafv2/ruleGroup:RuleGroup", lambda g: True)
    reference = rules["LabelCloudFrontOrigin"]["statement"]["ruleGroupReferenceStatement"]
    assert reference == {"arn": group.outputs["arn"]}
    scope_down = rules["RateLimitPerIp"]["statement"]["rateBasedStatement"]["scopeDownStatement"]
    assert scope_down == {
        "notStatement": {
            "statement": {"labelMatchStatement": {"scope": "LABEL", "key": CLOUDFRONT_ORIGIN_LABEL}}
        }
    }
    # The secret sits in the rule group alone; the web ACL's rules stay plain for diffs.
    assert not isinstance(acl.inputs["rules"], SecretValue)
    (labeller,) = revealed(group.inputs["rules"])
    assert "count" in labeller["action"]
    assert labeller["ruleLabels"] == [{"name": CLOUDFRONT_ORIGIN_LABEL}]
    match = labeller["statement"]["byteMatchStatement"]
    assert match["searchString"] == MOCK_PASSWORD and match["positionalConstraint"] == "EXACTLY"
    assert match["fieldToMatch"] == {"singleHeader": {"name": ORIGIN_HEADER_NAME.lower()}}
    assert group.inputs["scope"] == "REGIONAL"


def test_the_service_starts_after_what_forwards_to_it(cloudfront_only_graph: Graph) -> None:
    broken = copy.deepcopy(cloudfront_only_graph)
    rule = forwarding_rules(broken)["api-rule-from-cloudfront"]
    for resource in broken:
        resource.dependencies = [d for d in resource.dependencies if d != rule.urn]
    assert any(
        p.startswith("ECS service after what forwards to its target group: ")
        and p.endswith(
            "(ECS refuses a target group that no listener or listener rule forwards to (it has "
            "no load balancer yet); the listener's own default action answers 403)"
        )
        for p in check_creation_order(broken)
    )


# -- CloudFront's default certificate forces TLSv1 ----------------------------------------------


def test_the_tls_flag_names_mode_3_and_mode_2_without_a_cloudfront_certificate(
    graph: Graph, no_cloudfront_certificate_graph: Graph, dns_graph: Graph, existing_graph: Graph
) -> None:
    (self_signed,) = production_warnings(graph)
    assert "(certificate mode 3, self-signed)" in self_signed
    (without,) = production_warnings(no_cloudfront_certificate_graph)
    assert "certificate mode 2, existing, without payments:cloudfrontCertificateArn" in without
    for warning in (self_signed, without):
        assert warning.startswith("not fit for production: ")
        assert "forces the TLSv1 security policy" in warning
        assert "Fix: give CloudFront a certificate of its own" in warning
    assert production_warnings(dns_graph) == []
    assert production_warnings(existing_graph) == []


def test_the_tls_flag_is_an_advisory_rule_of_the_pack(
    graph: Graph, no_cloudfront_certificate_graph: Graph, dns_graph: Graph
) -> None:
    rule = RULE["cloudfront-tls-production"]
    assert rule.enforcement.value == "advisory"
    for flagged in (graph, no_cloudfront_certificate_graph):
        cdn = flagged.of_type(DISTRIBUTION)[0]
        (problem,) = cloudfront_default_certificate(flagged)
        assert violations(rule, args_for(cdn, flagged)) == [f"PCI DSS 4.2.1: {problem}"]
    cdn = dns_graph.of_type(DISTRIBUTION)[0]
    assert violations(rule, args_for(cdn, dns_graph)) == []


def test_every_rule_including_advisory_ones_passes_on_the_production_mode(
    dns_graph: Graph, cloudfront_only_graph: Graph
) -> None:
    for production in (dns_graph, cloudfront_only_graph):
        found = {
            (rule.name, resource.name): problems
            for resource in production
            if resource.custom
            for rule in RULES
            if (problems := violations(rule, args_for(resource, production)))
        }
        assert found == {}


def test_production_policy_config_makes_the_tls_rule_mandatory() -> None:
    config = json.loads((REPO_ROOT / "policy" / "production.json").read_text())
    assert config["cloudfront-tls-production"] == "mandatory"
    assert set(config) <= set(RULE) | {rule.name for rule in STACK_RULES}
