"""CloudFront's default certificate forces TLSv1: where CloudFront keeps it
(certificate mode 3, and mode 2 without a CloudFront certificate), the plan and the policy
pack's advisory rule say so, and production's policy configuration makes that rule mandatory.
"""

from __future__ import annotations

import json

from payments_infra import REPO_ROOT
from payments_infra.offline.checks_access import cloudfront_default_certificate
from payments_infra.offline.graph import Graph
from payments_infra.offline.plan import production_warnings
from policy.offline_validation import args_for, violations
from policy.rules import RULES, STACK_RULES
from tests.edge_queries import DISTRIBUTION, RULE


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
