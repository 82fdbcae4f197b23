"""The Frontend component: bucket, CloudFront, WAF and upload, from the recorded graph."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from payments_infra.components.frontend.frontend import CACHING_DISABLED, CACHING_OPTIMIZED
from payments_infra.components.frontend.site import load_site
from payments_infra.components.frontend.web_headers import CONTENT_SECURITY_POLICY
from payments_infra.config.errors import ConfigError
from payments_infra.offline import checks, checks_access
from payments_infra.offline.graph import Graph, revealed
from payments_infra.offline.mocks import PlaceholderMocks, RecordingMonitor, record_program
from tests.graph_queries import in_component, only
from tests.stacks import DNS, EXISTING, SUFFIX, VALID_CONFIG, WEB_DIST, ZONES

DISTRIBUTION = "aws:cloudfront/distribution:Distribution"


def distribution(graph: Graph) -> dict[str, Any]:
    """The distribution's inputs; its origins are secret once /api sends the origin header."""
    return dict(revealed(only(graph, DISTRIBUTION).inputs))


def test_bucket_is_private_owner_enforced_encrypted_versioned_and_destroyable(
    graph: Graph,
) -> None:
    bucket = in_component(graph, "aws:s3/bucket:Bucket", "frontend")
    assert bucket.inputs["bucket"] == f"frontend-{SUFFIX}" and bucket.inputs["forceDestroy"]
    block = in_component(
        graph, "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", "frontend"
    ).inputs
    assert all(
        block[k]
        for k in (
            "blockPublicAcls",
            "blockPublicPolicy",
            "ignorePublicAcls",
            "restrictPublicBuckets",
        )
    )
    ownership = in_component(
        graph, "aws:s3/bucketOwnershipControls:BucketOwnershipControls", "frontend"
    )
    assert ownership.inputs["rule"] == {"objectOwnership": "BucketOwnerEnforced"}
    versioning = in_component(graph, "aws:s3/bucketVersioning:BucketVersioning", "frontend")
    assert versioning.inputs["versioningConfiguration"] == {"status": "Enabled"}
    lifecycle = in_component(
        graph, "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration", "frontend"
    ).inputs["rules"][0]
    assert lifecycle["noncurrentVersionExpiration"] == {"noncurrentDays": 30}


def test_bucket_policy_lets_only_this_distribution_read_and_denies_plain_http(
    graph: Graph,
) -> None:
    policy = json.loads(
        in_component(graph, "aws:s3/bucketPolicy:BucketPolicy", "frontend").inputs["policy"]
    )
    allows = [s for s in policy["Statement"] if s["Effect"] == "Allow"]
    (allow,) = allows
    assert allow["Principal"] == {"Service": "cloudfront.amazonaws.com"}
    assert allow["Action"] == ["s3:GetObject"]
    assert allow["Condition"] == {
        "StringEquals": {"AWS:SourceArn": only(graph, DISTRIBUTION).outputs["arn"]}
    }
    assert all(s["Principal"] != "*" for s in allows)  # no public grant
    (deny,) = [s for s in policy["Statement"] if s["Effect"] == "Deny"]
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_origin_access_control_signs_every_request_to_the_bucket(graph: Graph) -> None:
    oac = only(graph, "aws:cloudfront/originAccessControl:OriginAccessControl")
    assert oac.inputs["signingBehavior"] == "always"
    assert oac.inputs["signingProtocol"] == "sigv4"
    (origin,) = [o for o in distribution(graph)["origins"] if o["originId"] == "web"]
    assert origin["originAccessControlId"] == oac.id
    assert origin["domainName"] == f"frontend-{SUFFIX}.s3.us-east-1.amazonaws.com"


def test_viewers_get_https_http2_and_3_compression_and_the_root_object(graph: Graph) -> None:
    cdn = distribution(graph)
    default = cdn["defaultCacheBehavior"]
    assert default["viewerProtocolPolicy"] == "redirect-to-https"
    assert default["compress"] is True
    assert default["cachePolicyId"] == CACHING_OPTIMIZED
    assert cdn["httpVersion"] == "http2and3"
    assert cdn["defaultRootObject"] == "index.html"
    assert cdn["priceClass"] == "PriceClass_100"
    assert cdn["viewerCertificate"] == {"cloudfrontDefaultCertificate": True}


def test_custom_certificate_requires_tls12_2021(dns_graph: Graph) -> None:
    cdn = distribution(dns_graph)
    assert cdn["aliases"] == ["pay.example.com"]
    certificate = cdn["viewerCertificate"]
    assert certificate["minimumProtocolVersion"] == "TLSv1.2_2021"
    assert certificate["sslSupportMethod"] == "sni-only"


def test_security_headers_policy(graph: Graph) -> None:
    policy = only(graph, "aws:cloudfront/responseHeadersPolicy:ResponseHeadersPolicy")
    headers = policy.inputs["securityHeadersConfig"]
    hsts = headers["strictTransportSecurity"]
    assert hsts["accessControlMaxAgeSec"] == 31536000 and hsts["includeSubdomains"] is True
    assert headers["contentSecurityPolicy"]["contentSecurityPolicy"] == CONTENT_SECURITY_POLICY
    assert "script-src 'self'" in CONTENT_SECURITY_POLICY
    assert headers["contentTypeOptions"]["override"] is True
    assert headers["frameOptions"]["frameOption"] == "DENY"
    assert headers["referrerPolicy"]["referrerPolicy"] == "strict-origin-when-cross-origin"
    assert distribution(graph)["defaultCacheBehavior"]["responseHeadersPolicyId"] == policy.id


def test_spa_function_is_on_the_default_behaviour_only(dns_graph: Graph) -> None:
    function = only(dns_graph, "aws:cloudfront/function:Function")
    cdn = distribution(dns_graph)
    (association,) = cdn["defaultCacheBehavior"]["functionAssociations"]
    assert association == {"eventType": "viewer-request", "functionArn": function.outputs["arn"]}
    assert all(not b.get("functionAssociations") for b in cdn["orderedCacheBehaviors"])
    assert "index.html" in function.inputs["code"]


def test_api_behaviour_exists_only_where_a_certificate_covers_the_alb(
    graph: Graph, dns_graph: Graph, existing_graph: Graph
) -> None:
    def api_behaviours(g: Graph) -> list[dict[str, Any]]:
        return [
            b
            for b in distribution(g).get("orderedCacheBehaviors", [])
            if b["pathPattern"] == "/api/*"
        ]

    assert api_behaviours(graph) == []  # self-signed: CloudFront could not verify the ALB
    assert [o["originId"] for o in distribution(graph)["origins"]] == ["web"]
    for with_api in (dns_graph, existing_graph):
        (behaviour,) = api_behaviours(with_api)
        assert behaviour["targetOriginId"] == "api"
        assert behaviour["cachePolicyId"] == CACHING_DISABLED
        assert behaviour["viewerProtocolPolicy"] == "https-only"
        assert {"POST", "GET", "DELETE"} <= set(behaviour["allowedMethods"])
        (origin,) = [o for o in distribution(with_api)["origins"] if o["originId"] == "api"]
        assert origin["domainName"] == "api.pay.example.com"
        assert origin["customOriginConfig"]["originProtocolPolicy"] == "https-only"
        assert origin["customOriginConfig"]["originSslProtocols"] == ["TLSv1.2"]


def test_api_origin_name_is_covered_by_the_api_certificate(dns_graph: Graph) -> None:
    names = [c.inputs["domainName"] for c in dns_graph.of_type("aws:acm/certificate:Certificate")]
    (origin,) = [o for o in distribution(dns_graph)["origins"] if o["originId"] == "api"]
    assert origin["domainName"] in names
    assert checks_access.check_cloudfront(dns_graph) == []


def test_an_alb_name_as_origin_is_caught(dns_graph: Graph) -> None:
    broken = copy.deepcopy(dns_graph)
    cdn = next(r for r in broken if r.type == DISTRIBUTION)
    cdn.inputs["origins"] = revealed(cdn.inputs["origins"])
    for origin in cdn.inputs["origins"]:
        if origin["originId"] == "api":
            origin["domainName"] = "alb-x-1.us-east-1.elb.amazonaws.com"
    assert any("elb.amazonaws.com" in p for p in checks_access.check_cloudfront(broken))


def test_waf_has_the_managed_rule_groups_and_a_rate_limit_and_logs_30_days(graph: Graph) -> None:
    acl = in_component(graph, "aws:wafv2/webAcl:WebAcl", "frontend")
    assert acl.inputs["scope"] == "CLOUDFRONT"
    groups = [
        r["statement"]["managedRuleGroupStatement"]["name"]
        for r in acl.inputs["rules"]
        if "managedRuleGroupStatement" in r["statement"]
    ]
    assert groups == [
        "AWSManagedRulesCommonRuleSet",
        "AWSManagedRulesKnownBadInputsRuleSet",
        "AWSManagedRulesAmazonIpReputationList",
        "AWSManagedRulesSQLiRuleSet",
    ]
    (rate,) = [r for r in acl.inputs["rules"] if "rateBasedStatement" in r["statement"]]
    assert rate["statement"]["rateBasedStatement"]["limit"] == 2000
    assert "block" in rate["action"]
    assert distribution(graph)["webAclId"] == acl.outputs["arn"]
    logging = in_component(
        graph, "aws:wafv2/webAclLoggingConfiguration:WebAclLoggingConfiguration", "frontend"
    )
    (destination,) = logging.inputs["logDestinationConfigs"]
    group = next(
        g
        for g in graph.of_type("aws:cloudwatch/logGroup:LogGroup")
        if g.outputs["arn"] == destination
    )
    assert group.inputs["name"] == f"aws-waf-logs-{SUFFIX}"
    assert group.inputs["retentionInDays"] == 30


def test_access_logs_are_delivered_to_a_30_day_log_group(graph: Graph) -> None:
    source = only(graph, "aws:cloudwatch/logDeliverySource:LogDeliverySource")
    destination = only(graph, "aws:cloudwatch/logDeliveryDestination:LogDeliveryDestination")
    delivery = only(graph, "aws:cloudwatch/logDelivery:LogDelivery")
    assert source.inputs["logType"] == "ACCESS_LOGS"
    assert source.inputs["resourceArn"] == only(graph, DISTRIBUTION).outputs["arn"]
    group = next(
        g
        for g in graph.of_type("aws:cloudwatch/logGroup:LogGroup")
        if g.inputs["name"] == f"/aws/cloudfront/frontend-{SUFFIX}"
    )
    assert destination.inputs["deliveryDestinationConfiguration"] == {
        "destinationResourceArn": group.outputs["arn"]
    }
    assert delivery.inputs["deliverySourceName"] == source.inputs["name"]
    assert group.inputs["retentionInDays"] == 30


def test_every_file_is_uploaded_with_its_content_type_and_cache_control(graph: Graph) -> None:
    objects = {
        o.inputs["key"]: (o.inputs["contentType"], o.inputs["cacheControl"])
        for o in graph.of_type("aws:s3/bucketObjectv2:BucketObjectv2")
    }
    assert objects == {
        "index.html": ("text/html; charset=utf-8", "no-cache"),
        "assets/index-3f2a1b9c.js": (
            "text/javascript; charset=utf-8",
            "public, max-age=31536000, immutable",
        ),
        "assets/index-9c8d7e6f.css": (
            "text/css; charset=utf-8",
            "public, max-age=31536000, immutable",
        ),
        "favicon.svg": ("image/svg+xml; charset=utf-8", "public, max-age=3600"),
    }


def test_dns_mode_points_the_domain_at_the_distribution(dns_graph: Graph) -> None:
    aliases = [
        r
        for r in dns_graph.of_type("aws:route53/record:Record")
        if r.inputs["name"] == "pay.example.com"
    ]
    assert sorted(r.inputs["type"] for r in aliases) == ["A", "AAAA"]
    assert dns_graph.stack_outputs["site_url"] == "https://pay.example.com"


def test_missing_build_stops_the_program_with_the_build_command(tmp_path: Path) -> None:
    monitor = RecordingMonitor(PlaceholderMocks())
    with pytest.raises(ConfigError, match=r"payments:webDistDir must point at the built web app"):
        record_program({**VALID_CONFIG, "payments:webDistDir": str(tmp_path)}, monitor=monitor)
    assert monitor.recorded == []
    with pytest.raises(
        ConfigError, match=r"make web \(or: cd app/web && npm ci && npm run build\)"
    ):
        load_site(str(tmp_path / "nothing"))


def test_load_site_reads_the_fixture_build() -> None:
    assert sorted(f.key for f in load_site(WEB_DIST)) == [
        "assets/index-3f2a1b9c.js",
        "assets/index-9c8d7e6f.css",
        "favicon.svg",
        "index.html",
    ]


@pytest.mark.parametrize("mode_config", [DNS, EXISTING, {}])
def test_every_mode_passes_the_cloudfront_checks(mode_config: dict[str, str]) -> None:
    graph = record_program({**VALID_CONFIG, **mode_config}, stack="test")
    results = checks.run_checks(graph, SUFFIX, ZONES)
    assert {r.name: r.problems for r in results if not r.passed} == {}


def test_the_name_mode_2s_site_domain_must_point_at_is_an_output(existing_graph: Graph) -> None:
    """docs/deploy.md, DNS per mode: the CNAME target of payments:siteDomainName."""
    assert existing_graph.stack_outputs["distribution_domain_name"] == (
        "d111111abcdef8.cloudfront.net"  # the mocks' CloudFront domain name
    )
