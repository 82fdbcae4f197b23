"""The deployed web app behind CloudFront: the page, its security headers, SPA routing, WAF."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlparse

import pytest

from payments_infra.components.frontend.web_headers import CONTENT_SECURITY_POLICY
from tests.integration.live_helpers import (
    HttpResponse,
    api_origin_domain,
    https_request,
    tls_context,
    web_acl_name_and_id,
)

ROOT_ELEMENT = '<div id="root">'
SECURITY_HEADERS = {
    "Strict-Transport-Security": "max-age=31536000; includeSubDomains; preload",
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "strict-origin-when-cross-origin",
}


@pytest.fixture(scope="module")
def site_root(stack_outputs: dict[str, Any]) -> HttpResponse:
    return https_request("GET", stack_outputs["site_url"] + "/", context=tls_context())


def _is_the_app_page(response: HttpResponse) -> bool:
    return (
        response.status == 200
        and (response.header("Content-Type") or "").startswith("text/html")
        and ROOT_ELEMENT in response.text()
    )


def test_site_serves_the_app_page(site_root: HttpResponse) -> None:
    assert _is_the_app_page(site_root), (
        f"expected 200 text/html containing {ROOT_ELEMENT}: {site_root.describe()}"
    )


@pytest.mark.parametrize(
    ("header", "expected"), SECURITY_HEADERS.items(), ids=list(SECURITY_HEADERS)
)
def test_site_sends_security_header(site_root: HttpResponse, header: str, expected: str) -> None:
    assert site_root.header(header) == expected, (
        f"{header} is {site_root.header(header)!r}, expected {expected!r}"
    )


def test_site_serves_the_app_page_for_an_app_route(
    stack_outputs: dict[str, Any], site_root: HttpResponse
) -> None:
    response = https_request(
        "GET", stack_outputs["site_url"] + "/some/app/route", context=tls_context()
    )
    assert _is_the_app_page(response), (
        f"an extension-less path should be rewritten to /index.html: {response.describe()}"
    )
    assert response.body == site_root.body, "the app route got another page than /"


def test_distribution_is_protected_by_an_existing_waf_web_acl(
    distribution: dict[str, Any], wafv2: Any
) -> None:
    web_acl_arn = distribution["DistributionConfig"].get("WebACLId", "")
    assert web_acl_arn, "the distribution has no WAF web ACL"
    name, identifier = web_acl_name_and_id(web_acl_arn)
    web_acl = wafv2.get_web_acl(Name=name, Scope="CLOUDFRONT", Id=identifier)["WebACL"]
    assert web_acl["ARN"] == web_acl_arn
    assert web_acl["Rules"], f"web ACL {name} has no rules"


def test_cloudfront_routes_api_only_to_a_name_a_certificate_covers(
    distribution: dict[str, Any], stack_outputs: dict[str, Any]
) -> None:
    origin = api_origin_domain(distribution["DistributionConfig"])
    mode = stack_outputs["certificate_mode"]
    if mode == "dns":
        expected = urlparse(stack_outputs["api_url"]).hostname
        assert origin == expected, f"/api/* goes to {origin!r}; in dns mode it should be {expected}"
    elif mode == "self-signed":
        assert origin is None, f"/api/* goes to {origin!r}, which CloudFront cannot verify"
    assert not (origin or "").endswith(".elb.amazonaws.com"), (
        f"/api/* goes to the ALB's own name {origin}, which no certificate covers"
    )
