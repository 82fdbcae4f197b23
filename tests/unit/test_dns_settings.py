"""payments:dnsAllowList and the DNS ports refused in payments:egressAllowList: checked at the
edge, against DNS Firewall's rule for a domain-list entry, at the boundaries."""

from __future__ import annotations

import pytest

from payments_infra.components.network.dns_firewall import AWS_NAMES, allowed_domains
from payments_infra.config import StackConfig
from payments_infra.config.errors import ConfigError
from payments_infra.config.name_rules import firewall_domain_problems
from tests.stacks import VALID_CONFIG

KEY = "payments:dnsAllowList"


def load(**overrides: str) -> StackConfig:
    return StackConfig.from_mapping({**VALID_CONFIG, **overrides}, project="p", stack="s")


def longest(length: int) -> str:
    """A name of ``length`` characters (192 to 288) whose labels are all 63 or shorter."""
    left = length - 192  # after three 63-character labels and their dots
    tail = "a" * left if left <= 63 else f"{'a' * (left - 33)}.{'a' * 32}"
    return f"{'.'.join(['a' * 63] * 3)}.{tail}"


def test_the_names_are_kept_once_in_lowercase() -> None:
    value = '["api.processor.example", "*.Processor.example", "API.processor.example"]'
    assert load(**{KEY: value}).dns_allow_list == ("api.processor.example", "*.processor.example")


def test_unset_it_allows_nothing_beyond_the_stacks_own_names() -> None:
    assert load().dns_allow_list == ()


def test_255_characters_pass_and_256_fail() -> None:
    assert len(longest(255)) == 255 and firewall_domain_problems(longest(255)) == []
    assert load(**{KEY: f'["{longest(255)}"]'}).dns_allow_list == (longest(255),)
    with pytest.raises(ConfigError, match=f"{KEY} entries must be 1 to 255 characters \\(256\\)"):
        load(**{KEY: f'["{longest(256)}"]'})


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ('"api.processor.example"', f"{KEY} must be a JSON list of domain names"),
        ('["api.*.example"]', 'a wildcard only as the whole leftmost label.*got "api.\\*.example"'),
        ('["*api.processor.example"]', "a wildcard only as the whole leftmost label"),
        ('["api_1.processor.example"]', 'letters, digits and hyphens.*got "api_1.processor'),
        ('["processor.example."]', "no dot at either end"),
        ('["*"]', 'at least two labels after a wildcard.*got "\\*"'),
        ('["*.example"]', 'at least two labels after a wildcard.*got "\\*.example"'),
    ],
)
def test_what_dns_firewall_or_the_design_refuses_is_refused(value: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load(**{KEY: value})


def test_a_wildcard_over_two_labels_is_the_broadest_accepted() -> None:
    assert load(**{KEY: '["*.processor.example"]'}).dns_allow_list == ("*.processor.example",)


@pytest.mark.parametrize("port", [53, 853])
def test_an_egress_entry_to_a_dns_port_is_refused(port: int) -> None:
    """A resolver outside the VPC would answer what the VPC's DNS Firewall refuses."""
    with pytest.raises(ConfigError, match=f'must not be DNS ports 53 or 853 .*:{port}"'):
        load(**{"payments:egressAllowList": f'["52.94.10.0/24:{port}"]'})


def test_the_ports_beside_them_stay_allowed() -> None:
    config = load(**{"payments:egressAllowList": '["52.94.10.0/24:54", "52.94.10.0/24:852"]'})
    assert [port for _, port in config.egress_allow_list] == [54, 852]


def test_the_component_refuses_a_bad_or_open_list_before_any_resource() -> None:
    assert allowed_domains([]) == list(AWS_NAMES)
    with pytest.raises(ValueError, match=r'"a\.\.b" must hold only letters'):
        allowed_domains(["a..b"])
    with pytest.raises(ValueError, match='must not hold "\\*"'):
        allowed_domains(["*"])
    with pytest.raises(ValueError, match="at most 1000 domains"):
        allowed_domains([f"host{n}.processor.example" for n in range(1000)])
