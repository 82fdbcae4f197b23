"""StackConfig: each rule at its boundary, each bad input with its message, nothing registered."""

from __future__ import annotations

import ipaddress
from dataclasses import fields
from typing import Any

import pytest

from payments_infra.aws.provider import choose_zones
from payments_infra.config import SETTINGS, Ingress, StackConfig
from payments_infra.config.cross_rules import CROSS_RULES
from payments_infra.config.errors import ConfigError
from payments_infra.config.naming import MAX_SUFFIX_LENGTH
from payments_infra.config.setting import Setting, binding
from payments_infra.config.stack_config import TIERS
from payments_infra.offline.checks_network import subnet_zone
from payments_infra.offline.mocks import (
    MOCK_ZONE_IDS,
    MOCK_ZONES,
    PlaceholderMocks,
    RecordingMonitor,
    record_program,
)
from tests.stacks import VALID_CONFIG


def load(**overrides: str) -> StackConfig:
    raw = {**VALID_CONFIG, **overrides}
    return StackConfig.from_mapping(
        {k: v for k, v in raw.items() if v is not None}, project="payments", stack="test"
    )


def test_defaults_apply_when_only_the_required_keys_are_set() -> None:
    config = load()
    assert config.environment_suffix == "test1"
    assert config.region == "us-east-1"
    assert config.vpc_cidr == ipaddress.IPv4Network("10.0.0.0/16")
    assert config.availability_zones is None


@pytest.mark.parametrize(
    ("suffix", "message"),
    [
        (
            "Prod_1",
            "payments:environmentSuffix must contain only lowercase letters, digits and "
            'hyphens; got "Prod_1"',
        ),
        ("", "payments:environmentSuffix must be set"),
        ("9prod", 'payments:environmentSuffix must start with a lowercase letter; got "9prod"'),
        ("-prod", 'payments:environmentSuffix must start with a lowercase letter; got "-prod"'),
        ("prod-", 'payments:environmentSuffix must not end with a hyphen; got "prod-"'),
        ("pr--od", "payments:environmentSuffix must not contain two hyphens in a row"),
        ("a" * (MAX_SUFFIX_LENGTH + 1), f"must be at most {MAX_SUFFIX_LENGTH} characters"),
    ],
)
def test_bad_suffix_is_rejected_with_key_value_and_rule(suffix: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        load(**{"payments:environmentSuffix": suffix})


def test_suffix_of_the_longest_allowed_length_is_accepted() -> None:
    assert load(**{"payments:environmentSuffix": "a" * MAX_SUFFIX_LENGTH})


def test_missing_suffix_is_rejected() -> None:
    with pytest.raises(ConfigError, match="payments:environmentSuffix must be set"):
        StackConfig.from_mapping({"aws:region": "us-east-1"}, project="p", stack="s")


@pytest.mark.parametrize("region", ["eu-west-1", "us-east-2", ""])
def test_region_other_than_us_east_1_is_rejected(region: str) -> None:
    with pytest.raises(ConfigError, match="aws:region must be us-east-1; got"):
        load(**{"aws:region": region})


@pytest.mark.parametrize(
    ("cidr", "message"),
    [
        ("10.0.0.0/27", r'must have a prefix length from /16 to /23 .*; got "10.0.0.0/27"'),
        ("10.0.0.0/24", "must have a prefix length from /16 to /23"),
        ("10.0.0.0/15", "must have a prefix length from /16 to /23"),
        ("not-a-cidr", 'must be an IPv4 CIDR block such as 10.0.0.0/16; got "not-a-cidr"'),
        ("10.0.0.0", "must give a prefix length"),
        (
            "10.0.0.1/16",
            r"must be a network address with no host bits set \(did you mean 10.0.0.0/16",
        ),
        ("8.8.0.0/16", "must be inside an RFC 1918 private range"),
        ("100.64.0.0/16", "must be inside an RFC 1918 private range"),
    ],
)
def test_bad_vpc_cidr_is_rejected(cidr: str, message: str) -> None:
    with pytest.raises(ConfigError, match=f"payments:vpcCidr {message}"):
        load(**{"payments:vpcCidr": cidr})


@pytest.mark.parametrize("cidr", ["10.0.0.0/16", "10.20.0.0/23", "172.16.0.0/12", "192.168.0.0/16"])
def test_vpc_cidrs_at_the_boundaries_are_accepted(cidr: str) -> None:
    # /12 is a valid RFC 1918 block but larger than AWS allows for a VPC.
    if cidr.endswith("/12"):
        with pytest.raises(ConfigError):
            load(**{"payments:vpcCidr": cidr})
    else:
        assert str(load(**{"payments:vpcCidr": cidr}).vpc_cidr) == cidr


def test_pinned_zones_are_accepted() -> None:
    config = load(**{"payments:availabilityZones": '["us-east-1a", "us-east-1b", "us-east-1d"]'})
    assert config.availability_zones == ("us-east-1a", "us-east-1b", "us-east-1d")


@pytest.mark.parametrize(
    ("zones", "message"),
    [
        ('["us-east-1a", "us-east-1b"]', "must name exactly 3 distinct zones"),
        ('["us-east-1a", "us-east-1a", "us-east-1b"]', "must name exactly 3 distinct zones"),
        ('["us-east-1a", "us-east-1b", "eu-west-1a"]', "must hold zone names of us-east-1 only"),
        ("us-east-1a", "must be a list of zone names"),
    ],
)
def test_bad_zone_list_is_rejected(zones: str, message: str) -> None:
    with pytest.raises(ConfigError, match=f"payments:availabilityZones {message}"):
        load(**{"payments:availabilityZones": zones})


def test_misspelt_key_is_rejected_not_ignored() -> None:
    with pytest.raises(
        ConfigError,
        match=r"payments:vpcCIDR must be a known setting \(did you mean payments:vpcCidr\?\); "
        "got an unknown key",
    ):
        load(**{"payments:vpcCIDR": "10.1.0.0/16"})


def test_misspelt_key_suggests_the_closest_setting() -> None:
    with pytest.raises(ConfigError, match=r"did you mean payments:dbMaxCapacity\?"):
        load(**{"payments:dbMaxCapacty": "8"})


def test_unknown_key_with_no_close_setting_lists_the_known_ones() -> None:
    with pytest.raises(ConfigError) as raised:
        load(**{"payments:colour": "blue"})
    message = str(raised.value)
    assert "payments:colour must be a known setting (known settings: " in message
    assert "payments:vpcCidr" in message and "did you mean" not in message


def test_every_problem_is_reported_in_one_error() -> None:
    with pytest.raises(ConfigError) as raised:
        load(
            **{
                "payments:environmentSuffix": "Prod_1",
                "aws:region": "eu-west-1",
                "payments:vpcCidr": "10.0.0.0/27",
            }
        )
    text = str(raised.value)
    assert "payments:environmentSuffix" in text and "aws:region" in text
    assert "payments:vpcCidr" in text
    assert len(raised.value.problems) == 4  # the suffix breaks two rules


@pytest.mark.parametrize(
    "overrides",
    [
        {"payments:environmentSuffix": "Prod_1"},
        {"aws:region": "eu-west-1"},
        {"payments:vpcCidr": "10.0.0.0/27"},
        {"payments:vpcCidr": "nonsense"},
    ],
)
def test_bad_config_stops_the_program_before_any_resource_is_registered(
    overrides: dict[str, str],
) -> None:
    monitor = RecordingMonitor(PlaceholderMocks())
    with pytest.raises(ConfigError):
        record_program({**VALID_CONFIG, **overrides}, stack="test", monitor=monitor)
    assert monitor.recorded == []


def test_zones_are_the_first_three_the_region_offers() -> None:
    graph = record_program(VALID_CONFIG, stack="test")
    assert graph.stack_outputs["availability_zones"] == ["us-east-1a", "us-east-1b", "us-east-1c"]


def test_pinned_zones_replace_the_lookup() -> None:
    pinned = '["us-east-1b", "us-east-1d", "us-east-1f"]'
    graph = record_program({**VALID_CONFIG, "payments:availabilityZones": pinned}, stack="test")
    zones = sorted({subnet_zone(graph, s) for s in graph.of_type("aws:ec2/subnet:Subnet")})
    assert zones == ["us-east-1b", "us-east-1d", "us-east-1f"]


class ZoneMocks(PlaceholderMocks):
    """Answers the zone look-up with these names and zone IDs (in the same order)."""

    def __init__(self, zones: dict[str, str]) -> None:
        super().__init__()
        self.zones = zones

    def call(self, args):  # type: ignore[no-untyped-def]
        if args.token == "aws:index/getAvailabilityZones:getAvailabilityZones":
            names, zone_ids = list(self.zones), list(self.zones.values())
            return {"id": "us-east-1", "names": names, "zoneIds": zone_ids}, []
        return super().call(args)


def test_a_region_with_fewer_than_three_zones_fails_clearly() -> None:
    monitor = RecordingMonitor(ZoneMocks({"us-east-1b": "use1-az1", "us-east-1a": "use1-az6"}))
    with pytest.raises(ConfigError, match="must offer at least 3 available availability zones"):
        record_program(VALID_CONFIG, stack="test", monitor=monitor)
    assert [r.type for r in monitor.recorded] == ["pulumi:providers:aws"]


# Zone names map to physical zones per account; zone IDs do not. use1-az3 is the one us-east-1
# zone left out of the automatic choice (provider.LIMITED_ZONE_IDS, with its sources).
US_EAST_1_IDS = ["use1-az1", "use1-az2", "use1-az4", "use1-az5", "use1-az6"]


@pytest.mark.parametrize("behind", [f"us-east-1{letter}" for letter in "abcdef"])
def test_the_limited_zone_id_is_left_out_whatever_name_it_has(behind: str) -> None:
    names = [f"us-east-1{letter}" for letter in "abcdef"]
    others = iter(US_EAST_1_IDS)
    zone_ids = ["use1-az3" if name == behind else next(others) for name in names]
    chosen = choose_zones(names, zone_ids)
    assert [z.name for z in chosen] == [n for n in names if n != behind][:3]
    assert "use1-az3" not in [z.zone_id for z in chosen]
    # Each name keeps its own ID, whatever order the look-up answered in.
    assert all(dict(zip(names, zone_ids, strict=True))[z.name] == z.zone_id for z in chosen)


def test_the_default_plan_keeps_its_zones_and_leaves_out_use1_az3() -> None:
    names, zone_ids = MOCK_ZONES, MOCK_ZONE_IDS
    assert dict(zip(names, zone_ids, strict=True))["us-east-1e"] == "use1-az3"
    assert [z.name for z in choose_zones(names, zone_ids)] == [
        "us-east-1a",
        "us-east-1b",
        "us-east-1c",
    ]


ZONES_AFTER = ["us-east-1b", "us-east-1c", "us-east-1d"]


def test_the_program_builds_in_the_zones_after_the_limited_one() -> None:
    # An account where us-east-1a is use1-az3: the stack takes b, c and d.
    zones = dict(zip(MOCK_ZONES, ["use1-az3", *US_EAST_1_IDS], strict=True))
    graph = record_program(VALID_CONFIG, stack="test", monitor=RecordingMonitor(ZoneMocks(zones)))
    assert graph.stack_outputs["availability_zones"] == ["us-east-1b", "us-east-1c", "us-east-1d"]
    # The zone IDs on-call compares with AWS Health, in the same order.
    assert graph.stack_outputs["availability_zone_ids"] == [zones[z] for z in ZONES_AFTER]
    # The subnets are pinned to those zones' IDs in this account, not to the names.
    subnet_zones = {s.inputs["availabilityZoneId"] for s in graph.of_type("aws:ec2/subnet:Subnet")}
    assert subnet_zones == {zones[z] for z in ZONES_AFTER}


def test_a_pinned_limited_zone_is_kept_on_purpose() -> None:
    # us-east-1e is use1-az3 in the mocks' account: pinning it is how to choose it anyway.
    pinned = '["us-east-1a", "us-east-1b", "us-east-1e"]'
    graph = record_program({**VALID_CONFIG, "payments:availabilityZones": pinned}, stack="test")
    assert graph.stack_outputs["availability_zones"] == ["us-east-1a", "us-east-1b", "us-east-1e"]


def test_a_pinned_zone_the_account_lacks_stops_the_program_first() -> None:
    monitor = RecordingMonitor(PlaceholderMocks())
    pinned = '["us-east-1a", "us-east-1b", "us-east-1g"]'
    with pytest.raises(
        ConfigError, match=r"must name zones this account has in us-east-1 .*; got \['us-east-1g'\]"
    ):
        record_program(
            {**VALID_CONFIG, "payments:availabilityZones": pinned}, stack="test", monitor=monitor
        )
    assert [r.type for r in monitor.recorded] == ["pulumi:providers:aws"]


def test_too_few_zones_outside_the_limited_ones_say_how_to_use_it() -> None:
    zones = {"us-east-1a": "use1-az3", "us-east-1b": "use1-az1", "us-east-1c": "use1-az2"}
    with pytest.raises(ConfigError, match=r"of which \['us-east-1a'\] are limited ones left out"):
        record_program(VALID_CONFIG, stack="test", monitor=RecordingMonitor(ZoneMocks(zones)))


def test_every_setting_is_bound_to_exactly_one_field() -> None:
    bound = [s.key for kind in (StackConfig, *TIERS) for f in fields(kind) if (s := binding(f))]
    assert sorted(bound) == sorted(s.key for s in SETTINGS)


def test_cross_key_rules_document_declared_keys_only() -> None:
    keys = {s.key for s in SETTINGS}
    assert [k for rule in CROSS_RULES for k in rule.notes if k not in keys] == []


def test_enumerated_settings_compare_equal_to_their_strings() -> None:
    config = load(
        **{"payments:albIngress": "internet", "payments:apiCpuArchitecture": "X86_64"},
    )
    assert config.service.ingress == "internet" and config.service.ingress is Ingress.INTERNET
    assert config.service.cpu_architecture == "X86_64"
    assert config.frontend.price_class == "PriceClass_100"
    assert config.observability.alb_log_delivery == "forwarder"
    assert config.observability.log_archive == "none"
    assert config.certificates.mode == "self-signed"
    assert f"{config.service.ingress}" == "internet"


def test_a_setting_that_fails_to_parse_and_a_cross_key_rule_are_both_reported() -> None:
    with pytest.raises(ConfigError) as raised:
        load(**{"payments:dbMinCapacity": "300", "payments:apiMemory": "lots"})
    assert raised.value.problems == [
        "payments:dbMinCapacity must be 0.5 to 256 in steps of 0.5; got 300",
        'payments:apiMemory must be a whole number; got "lots"',
        "payments:dbMinCapacity must not exceed payments:dbMaxCapacity; got 300 > 16",
    ]


@pytest.mark.parametrize("setting", SETTINGS, ids=lambda s: s.key)
def test_each_default_is_valid(setting: Setting[Any]) -> None:
    if setting.default_text is not None:
        value, problems = setting.parse(setting, setting.default_text)
        assert problems == [] and value == setting.default


def test_security_defaults_use_endpoints_and_leave_account_controls_off() -> None:
    config = load()
    assert (config.vpc_endpoints, config.egress_allow_list, config.account_controls) == (
        True,
        (),
        False,
    )


@pytest.mark.parametrize("key", ["payments:vpcEndpoints", "payments:accountControls"])
@pytest.mark.parametrize("value", ["yes", "True", "1", ""])
def test_a_switch_is_true_or_false(key: str, value: str) -> None:
    with pytest.raises(ConfigError, match=f'{key} must be true or false; got "{value}"'):
        load(**{key: value})


def test_egress_destinations_are_parsed() -> None:
    config = load(**{"payments:egressAllowList": '["52.94.10.0/24:443", "54.187.174.169/32:8443"]'})
    assert config.egress_allow_list == (
        (ipaddress.IPv4Network("52.94.10.0/24"), 443),
        (ipaddress.IPv4Network("54.187.174.169/32"), 8443),
    )


def test_an_egress_entry_without_a_port_is_https_only_and_may_name_several() -> None:
    value = '["52.94.10.0/24", "54.187.174.169/32:8443,443,8443"]'
    config = load(**{"payments:egressAllowList": value})
    assert config.egress_allow_list == (
        (ipaddress.IPv4Network("52.94.10.0/24"), 443),
        (ipaddress.IPv4Network("54.187.174.169/32"), 8443),
        (ipaddress.IPv4Network("54.187.174.169/32"), 443),
    )


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ('"52.94.10.0/24:443"', "payments:egressAllowList must be a JSON list"),
        (
            '["52.94.10.0/24:"]',
            'entries must be "<IPv4 CIDR>" \\(port 443\\) or .*; got "52.94.10.0/24:"',
        ),
        ('["52.94.10.0/24:443,"]', 'got "52.94.10.0/24:443,"'),
        ('["52.94.10.1/24:443"]', 'got "52.94.10.1/24:443"'),  # host bits set
        ('["52.94.10.0/24:70000"]', 'got "52.94.10.0/24:70000"'),
        ('["52.94.10.0/24:443,0"]', 'got "52.94.10.0/24:443,0"'),
        ('["10.1.0.0/24:443"]', 'must be public internet addresses .*; got "10.1.0.0/24:443"'),
        ('["203.0.113.0/24:443"]', "must be public internet addresses"),  # documentation range
        ('["0.0.0.0/0:443"]', 'must be /24 or narrower .*; got "0.0.0.0/0:443"'),
        # The boundary: /24 is accepted (above), /23 refused; no port still means a bound.
        (
            '["52.94.10.0/23"]',
            'must be /24 or narrower \\(at most 256 addresses.*; got "52.94.10.0/23"',
        ),
        ('["54.239.0.0/16:443"]', 'must be /24 or narrower .*; got "54.239.0.0/16:443"'),
    ],
)
def test_bad_egress_destinations_are_refused(value: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load(**{"payments:egressAllowList": value})
