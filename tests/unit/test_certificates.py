"""The three certificate modes: each gives a valid graph; bad combinations fail clearly."""

from __future__ import annotations

import re

import pytest

from payments_infra.config import StackConfig
from payments_infra.config.errors import ConfigError
from payments_infra.offline import checks
from payments_infra.offline.graph import Graph, SecretValue
from payments_infra.offline.mocks import MOCK_PRIVATE_KEY
from tests.stacks import CERT_ARN, CF_ARN, DNS, EXISTING, SUFFIX, VALID_CONFIG, ZONES


def listener_certificate(graph: Graph) -> str:
    (listener,) = graph.of_type("aws:lb/listener:Listener")
    return str(listener.inputs["certificateArn"])


def failing(graph: Graph) -> dict[str, list[str]]:
    return {r.name: r.problems for r in checks.run_checks(graph, SUFFIX, ZONES) if not r.passed}


@pytest.mark.parametrize("mode", ["dns", "existing", "self-signed"])
def test_every_certificate_mode_gives_a_graph_that_passes_every_check(
    mode: str, dns_graph: Graph, existing_graph: Graph, graph: Graph
) -> None:
    chosen = {"dns": dns_graph, "existing": existing_graph, "self-signed": graph}[mode]
    assert chosen.stack_outputs["certificate_mode"] == mode
    assert failing(chosen) == {}


def test_dns_mode_validates_api_and_cloudfront_certificates_in_route53(dns_graph: Graph) -> None:
    certificates = {
        c.inputs["domainName"]: c for c in dns_graph.of_type("aws:acm/certificate:Certificate")
    }
    assert set(certificates) == {"api.pay.example.com", "pay.example.com"}
    assert all(c.inputs["validationMethod"] == "DNS" for c in certificates.values())
    records = dns_graph.of_type("aws:route53/record:Record")
    validation = [r for r in records if r.inputs["type"] == "CNAME"]
    assert len(validation) == 2
    assert all(r.inputs["zoneId"] == "Z0123456789ABC" for r in records)
    validations = dns_graph.of_type("aws:acm/certificateValidation:CertificateValidation")
    assert len(validations) == 2
    # The listener waits for ACM to issue the certificate: it takes the validation's ARN.
    api_arn = certificates["api.pay.example.com"].outputs["arn"]
    assert listener_certificate(dns_graph) == api_arn
    assert any(v.inputs["certificateArn"] == api_arn for v in validations)


def test_dns_mode_points_api_at_the_alb_with_an_alias(dns_graph: Graph) -> None:
    (alias,) = [
        r
        for r in dns_graph.of_type("aws:route53/record:Record")
        if r.inputs["type"] == "A" and r.inputs["name"] == "api.pay.example.com"
    ]
    (alb,) = dns_graph.of_type("aws:lb/loadBalancer:LoadBalancer")
    assert alias.inputs["name"] == "api.pay.example.com"
    assert alias.inputs["aliases"][0]["name"] == alb.outputs["dnsName"]
    assert dns_graph.stack_outputs["api_url"] == "https://api.pay.example.com"


def test_existing_mode_references_the_given_certificates_and_creates_none(
    existing_graph: Graph,
) -> None:
    assert existing_graph.of_type("aws:acm/certificate:Certificate") == []
    assert existing_graph.of_type("tls:index/privateKey:PrivateKey") == []
    assert listener_certificate(existing_graph) == CERT_ARN
    # The certificate covers apiDomainName, never the ALB's own name: the URL uses it.
    assert existing_graph.stack_outputs["api_url"] == "https://api.pay.example.com"
    assert existing_graph.of_type("aws:route53/record:Record") == []


def test_self_signed_mode_imports_a_generated_certificate_keeping_the_key_secret(
    graph: Graph,
) -> None:
    (certificate,) = graph.of_type("aws:acm/certificate:Certificate")
    assert isinstance(certificate.inputs["privateKey"], SecretValue)
    assert certificate.inputs["privateKey"].value == MOCK_PRIVATE_KEY
    assert listener_certificate(graph) == certificate.outputs["arn"]
    (self_signed,) = graph.of_type("tls:index/selfSignedCert:SelfSignedCert")
    assert self_signed.inputs["dnsNames"] == ["*.us-east-1.elb.amazonaws.com"]
    assert "server_auth" in self_signed.inputs["allowedUses"]
    assert graph.stack_outputs["api_certificate_pem"].startswith("-----BEGIN CERTIFICATE-----")
    assert graph.of_type("aws:route53/record:Record") == []


def load(**overrides: str) -> StackConfig:
    return StackConfig.from_mapping({**VALID_CONFIG, **overrides}, project="p", stack="s")


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (
            {"payments:domainName": "pay.example.com"},
            "payments:hostedZoneId must be set with payments:domainName",
        ),
        ({"payments:hostedZoneId": "Z0123"}, "payments:domainName must be set with"),
        (
            {**DNS, "payments:certificateArn": CERT_ARN},
            "Only one of `payments:domainName` or `payments:certificateArn` can be provided.",
        ),
        (
            {"payments:certificateArn": "arn:aws:acm:eu-west-1:123456789012:certificate/x"},
            "payments:certificateArn must be an ACM certificate ARN in us-east-1",
        ),
        ({"payments:certificateArn": "my-cert"}, 'got "my-cert"'),
        (
            {"payments:cloudfrontCertificateArn": CF_ARN, "payments:siteDomainName": "a.b.com"},
            "payments:cloudfrontCertificateArn must come with payments:certificateArn",
        ),
        (
            {"payments:certificateArn": CERT_ARN, "payments:cloudfrontCertificateArn": CF_ARN},
            "payments:siteDomainName and payments:cloudfrontCertificateArn must be set together",
        ),
        (
            {"payments:apiDomainName": "api.pay.example.com"},
            "payments:apiDomainName must come with payments:certificateArn",
        ),
        (
            {**DNS, "payments:domainName": "Pay.Example.com"},
            "payments:domainName must be a lowercase DNS name",
        ),
        (
            {**DNS, "payments:hostedZoneId": "zone-1"},
            "payments:hostedZoneId must be a Route 53 zone id",
        ),
    ],
)
def test_bad_certificate_settings_fail_clearly(overrides: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(message)):
        load(**overrides)


def test_mode_follows_the_settings() -> None:
    assert load().certificates.mode == "self-signed"
    assert load(**DNS).certificates.mode == "dns"
    assert load(**EXISTING).certificates.mode == "existing"
