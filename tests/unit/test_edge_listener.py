"""What the ALB's listener forwards, and CloudFront's secret origin header, over the
whole graph.

The listener answers 403 to what no rule forwards; with ``albIngress: cloudfront`` only
CloudFront's secret origin header is forwarded, and CloudFront sends it; the value is a secret
from ``pulumi_random`` kept in Secrets Manager, which also exempts CloudFront from the ALB's
per-IP rate limit. The ALB's web ACL itself: test_edge_guardrails.py.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest

from payments_infra.components.edge.load_balancer import API_PATHS
from payments_infra.components.edge.origin_header import ORIGIN_HEADER_LENGTH, ORIGIN_HEADER_NAME
from payments_infra.components.edge.web_acl import CLOUDFRONT_ORIGIN_LABEL, MANAGED_RULE_GROUPS
from payments_infra.offline import checks_edge
from payments_infra.offline.creation_order import check_creation_order
from payments_infra.offline.graph import Graph, Resource, SecretValue, revealed
from payments_infra.offline.mocks import MOCK_PASSWORD
from policy.offline_validation import args_for, violations
from tests.edge_queries import DISTRIBUTION, RULE, alb_acl, one, rules_by_name
from tests.stacks import SUFFIX, VALID_CONFIG

LISTENER = "aws:lb/listener:Listener"
LISTENER_RULE = "aws:lb/listenerRule:ListenerRule"


def forwarding_rules(graph: Graph) -> dict[str, Resource]:
    return {r.name: r for r in graph.of_type(LISTENER_RULE)}


def api_origin(graph: Graph) -> dict[str, Any]:
    cdn = graph.of_type(DISTRIBUTION)[0]
    (origin,) = [o for o in revealed(cdn.inputs["origins"]) if o["originId"] == "api"]
    return dict(origin)


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
        f"{LISTENER} alb-https does not answer 403 by default: whatever no rule forwards "
        "would reach the tasks"
    ]
    found = violations(RULE["alb-deny-by-default"], args_for(listener, graph))
    assert found == [f"PCI DSS 6.4.2: {problems[0]}"]


def test_cloudfront_only_ingress_forwards_only_the_origin_header(
    cloudfront_only_graph: Graph,
) -> None:
    rules = forwarding_rules(cloudfront_only_graph)
    assert list(rules) == ["alb-rule-from-cloudfront"]
    rule = rules["alb-rule-from-cloudfront"]
    # The engine marks the whole input secret, since one value in it is.
    assert isinstance(rule.inputs["conditions"], SecretValue)
    assert revealed(rule.inputs["conditions"]) == [
        {"httpHeader": {"httpHeaderName": ORIGIN_HEADER_NAME, "values": [MOCK_PASSWORD]}}
    ]
    target = cloudfront_only_graph.of_type("aws:lb/targetGroup:TargetGroup")[0]
    assert rule.inputs["actions"] == [{"type": "forward", "targetGroupArn": target.outputs["arn"]}]


def test_internet_ingress_forwards_the_api_paths_and_cloudfronts_header(dns_graph: Graph) -> None:
    rules = forwarding_rules(dns_graph)
    assert sorted(rules) == ["alb-rule-api-paths", "alb-rule-from-cloudfront"]
    paths = rules["alb-rule-api-paths"].inputs["conditions"]
    assert paths == [{"pathPattern": {"values": list(API_PATHS)}}]
    assert API_PATHS == ("/api/*", "/healthz", "/readyz")
    priorities = {name: r.inputs["priority"] for name, r in rules.items()}
    assert priorities["alb-rule-from-cloudfront"] < priorities["alb-rule-api-paths"]


def test_without_a_cloudfront_api_origin_there_is_no_origin_header(graph: Graph) -> None:
    assert list(forwarding_rules(graph)) == ["alb-rule-api-paths"]
    assert not [s for s in graph.of_type("aws:secretsmanager/secret:Secret") if "origin" in s.name]
    assert "LabelCloudFrontOrigin" not in rules_by_name(alb_acl(graph))


def test_cloudfronts_api_origin_sends_the_header_the_listener_requires(
    cloudfront_only_graph: Graph,
) -> None:
    origin = api_origin(cloudfront_only_graph)
    rule = forwarding_rules(cloudfront_only_graph)["alb-rule-from-cloudfront"]
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
    assert key.name == "alb-origin-header-key" and key.inputs["enableKeyRotation"] is True
    version = one(
        graph,
        "aws:secretsmanager/secretVersion:SecretVersion",
        lambda v: v.inputs["secretId"] == secret.id,
    )
    assert isinstance(version.inputs["secretString"], SecretValue)
    assert revealed(version.inputs["secretString"]) == MOCK_PASSWORD
    # The listener rule and the distribution take the value from the random resource.
    rule = forwarding_rules(graph)["alb-rule-from-cloudfront"]
    cdn = graph.of_type(DISTRIBUTION)[0]
    assert password.urn in rule.dependencies and password.urn in cdn.dependencies
    # No setting holds it: it is not configuration.
    assert not any(key.startswith("payments:origin") for key in VALID_CONFIG)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            lambda g: forwarding_rules(g)["alb-rule-from-cloudfront"].inputs.update(
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
            lambda g: forwarding_rules(g)["alb-rule-from-cloudfront"].inputs.update(
                conditions=revealed(
                    forwarding_rules(g)["alb-rule-from-cloudfront"].inputs["conditions"]
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
    rule = forwarding_rules(broken)["alb-rule-from-cloudfront"]
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
