"""The API service's settings: the longest suffix keeping every name inside its limit, the
service's settings refused with a clear message, and those accepted at their boundaries."""

from __future__ import annotations

import re

import pytest

from payments_infra.config.errors import ConfigError
from payments_infra.config.naming import MAX_SUFFIX_LENGTH
from payments_infra.offline import checks
from payments_infra.offline.mocks import record_program
from tests.config_loading import load
from tests.graph_queries import only
from tests.stacks import DNS, VALID_CONFIG, ZONES


def test_the_longest_valid_suffix_keeps_every_name_inside_its_limit() -> None:
    suffix = "a" + "b" * (MAX_SUFFIX_LENGTH - 1)
    graph = record_program({**VALID_CONFIG, "payments:environmentSuffix": suffix}, stack="test")
    results = checks.run_checks(graph, suffix, ZONES)
    assert {r.name: r.problems for r in results if not r.passed} == {}
    assert len(only(graph, "aws:lb/targetGroup:TargetGroup").inputs["name"]) == 32
    assert len(only(graph, "aws:lb/loadBalancer:LoadBalancer").inputs["name"]) <= 32


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (
            {"payments:apiCpu": "512", "payments:apiMemory": "512"},
            "payments:apiMemory must be a size Fargate allows with 512 CPU units "
            "(1024 to 4096 MiB in steps of 1024); got 512",
        ),
        ({"payments:apiCpu": "300"}, "payments:apiCpu must be one of 256, 512"),
        ({"payments:apiCpu": "1024", "payments:apiMemory": "9216"}, "with 1024 CPU units"),
        (
            {"payments:apiCpuArchitecture": "arm64"},
            'payments:apiCpuArchitecture must be ARM64 or X86_64; got "arm64"',
        ),
        (
            {"payments:albTlsPolicy": "ELBSecurityPolicy-2016-08"},
            "payments:albTlsPolicy must be an ELB security policy with TLS 1.3",
        ),
        ({"payments:albIngress": "vpn"}, "payments:albIngress must be internet or cloudfront"),
        (
            {"payments:albIngress": "cloudfront"},
            "payments:albIngress must be internet unless CloudFront routes /api to the ALB "
            "(set payments:domainName and payments:hostedZoneId, or payments:certificateArn "
            'and payments:apiDomainName); got "cloudfront"',
        ),
        (
            {
                "payments:albIngress": "cloudfront",
                "payments:certificateArn": "arn:aws:acm:us-east-1:123456789012:certificate/"
                "0123abcd-0123-4567-89ab-0123456789ab",
            },
            "payments:albIngress must be internet unless CloudFront routes /api to the ALB",
        ),
        (
            {"payments:apiImage": "payments-api"},
            "payments:apiImage must be an image reference with a tag or digest",
        ),
        ({"payments:ecrKeepImages": "0"}, "payments:ecrKeepImages must be 1 to 1000; got 0"),
    ],
)
def test_bad_service_settings_fail_clearly(overrides: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(message)):
        load(**overrides)


@pytest.mark.parametrize(
    ("cpu", "memory"), [("256", "512"), ("256", "2048"), ("4096", "30720"), ("16384", "122880")]
)
def test_fargate_sizes_at_their_boundaries_are_accepted(cpu: str, memory: str) -> None:
    settings = load(**{"payments:apiCpu": cpu, "payments:apiMemory": memory}).service
    assert (settings.cpu, settings.memory) == (int(cpu), int(memory))


@pytest.mark.parametrize(
    "certificates",
    [
        DNS,
        {
            "payments:certificateArn": "arn:aws:acm:us-east-1:123456789012:certificate/"
            "0123abcd-0123-4567-89ab-0123456789ab",
            "payments:apiDomainName": "api.pay.example.com",
        },
    ],
)
def test_cloudfront_only_ingress_is_accepted_where_cloudfront_has_an_api_origin(
    certificates: dict[str, str],
) -> None:
    assert load(**certificates, **{"payments:albIngress": "cloudfront"}).service.ingress == (
        "cloudfront"
    )
