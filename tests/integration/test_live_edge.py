"""No path to the deployed API around a WAF, checked against AWS and over HTTPS."""

from __future__ import annotations

from typing import Any

from tests.integration.live_helpers import Endpoint, https_request


def test_the_alb_has_a_regional_web_acl_with_rules(
    wafv2: Any, load_balancer: dict[str, Any]
) -> None:
    answer = wafv2.get_web_acl_for_resource(ResourceArn=load_balancer["LoadBalancerArn"])
    web_acl = answer.get("WebACL")
    assert web_acl, "the ALB has no web ACL: requests to it bypass WAF"
    names = {rule["Name"] for rule in web_acl["Rules"]}
    assert {"AWSManagedRulesCommonRuleSet", "RateLimitPerIp", "BodyOverApiLimit"} <= names, names


def test_the_listener_answers_403_by_default(elbv2: Any, load_balancer: dict[str, Any]) -> None:
    (listener,) = elbv2.describe_listeners(LoadBalancerArn=load_balancer["LoadBalancerArn"])[
        "Listeners"
    ]
    (action,) = listener["DefaultActions"]
    assert action["Type"] == "fixed-response", f"the listener's default action is {action}"
    assert action["FixedResponseConfig"]["StatusCode"] == "403"


def test_a_path_the_api_does_not_serve_gets_the_albs_403(api_endpoint: Endpoint) -> None:
    response = https_request(
        "GET", api_endpoint.url("/not-an-api-path"), context=api_endpoint.context
    )
    assert response.status == 403, f"the ALB forwarded an unknown path: {response.describe()}"
