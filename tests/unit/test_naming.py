"""naming.py: AWS's rules at their boundaries, and properties over every possible suffix."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from payments_infra.config import name_rules, naming
from payments_infra.config.errors import ConfigError
from payments_infra.config.limits import validate_suffix
from tests.stacks import ZONES

SEGMENT = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789", min_size=1, max_size=8)


@st.composite
def valid_suffixes(draw: st.DrawFn) -> str:
    """Lowercase words joined by single hyphens, starting with a letter, within the limit."""
    first = draw(st.sampled_from("abcdefghijklmnopqrstuvwxyz"))
    rest = draw(st.lists(SEGMENT, max_size=5))
    joiner = draw(st.sampled_from(["", "-"]))
    return (first + joiner + "-".join(rest)).rstrip("-")[: naming.MAX_SUFFIX_LENGTH].rstrip("-")


@given(valid_suffixes())
@settings(max_examples=300)
def test_every_valid_suffix_gives_valid_names_for_every_resource_kind(suffix: str) -> None:
    assert validate_suffix(suffix) == suffix
    problems = [p for name, rule in naming.all_names(suffix, ZONES) for p in rule.problems(name)]
    assert problems == []


@given(st.text(max_size=40))
@settings(max_examples=500)
def test_any_suffix_that_would_break_a_name_is_rejected(suffix: str) -> None:
    breaks_a_name = any(rule.problems(name) for name, rule in naming.all_names(suffix, ZONES))
    if breaks_a_name:
        with pytest.raises(ConfigError, match=re.escape(naming.SUFFIX_KEY)):
            validate_suffix(suffix)


INVALID = st.one_of(
    valid_suffixes().map(lambda s: s + "_x"),  # character outside the set
    valid_suffixes().map(lambda s: s.upper() if s.upper() != s else "A" + s),  # uppercase
    valid_suffixes().map(lambda s: "1" + s),  # leading digit
    valid_suffixes().map(lambda s: "-" + s),  # leading hyphen
    valid_suffixes().map(lambda s: s[: naming.MAX_SUFFIX_LENGTH - 1] + "-"),  # trailing hyphen
    valid_suffixes().map(lambda s: s[:5] + "--x"),  # double hyphen
    valid_suffixes().map(lambda s: (s + "x" * 30)[: naming.MAX_SUFFIX_LENGTH + 1]),  # too long
)


@given(INVALID)
@settings(max_examples=300)
def test_every_invalid_suffix_is_rejected_with_its_value_in_the_message(suffix: str) -> None:
    with pytest.raises(ConfigError) as raised:
        validate_suffix(suffix)
    for problem in raised.value.problems:
        assert problem.startswith(f"{naming.SUFFIX_KEY} must ")
        assert f'got "{suffix}"' in problem


def test_the_suffix_limit_is_derived_from_the_tightest_name() -> None:
    rooms = [entry.room_for_suffix for entry in naming.entries(naming.Names).values()]
    assert naming.MAX_SUFFIX_LENGTH == min(rooms)
    # Today that is the target group: "tg-api-" leaves 25 of AWS's 32 characters.
    assert naming.BINDING_NAME == "tg-api-{suffix}"
    assert naming.MAX_SUFFIX_LENGTH == 32 - len("tg-api-")


def test_longest_suffix_fills_the_target_group_name_exactly() -> None:
    suffix = "a" * naming.MAX_SUFFIX_LENGTH
    assert len(naming.physical_name(naming.Names.target_group, suffix)) == 32
    assert (
        name_rules.TARGET_GROUP.problems(naming.physical_name(naming.Names.target_group, suffix))
        == []
    )


@pytest.mark.parametrize(
    ("rule", "longest_valid"),
    [
        (name_rules.ALB, 32),
        (name_rules.TARGET_GROUP, 32),
        (name_rules.RDS_IDENTIFIER, 63),
        (name_rules.S3_BUCKET, 63),
        (name_rules.IAM_ROLE, 64),
        (name_rules.IAM_POLICY, 128),
        (name_rules.LOG_GROUP, 512),
        (name_rules.SNS_TOPIC, 256),
        (name_rules.LAMBDA_FUNCTION, 64),
        (name_rules.SECRET, 512),
        (name_rules.TAG_VALUE, 256),
    ],
)
def test_length_limits_at_the_boundary(rule: name_rules.NameRule, longest_valid: int) -> None:
    assert rule.problems("a" * longest_valid) == []
    assert any("characters" in p for p in rule.problems("a" * (longest_valid + 1)))


@pytest.mark.parametrize(
    ("rule", "name", "fragment"),
    [
        (name_rules.ALB, "internal-api", 'not begin with "internal-"'),
        (name_rules.ALB, "-alb", "not begin or end with a hyphen"),
        (name_rules.RDS_IDENTIFIER, "1aurora", "must match"),
        (name_rules.RDS_IDENTIFIER, "aurora--x", "two consecutive hyphens"),
        (name_rules.RDS_IDENTIFIER, "aurora-", "not end with a hyphen"),
        (name_rules.S3_BUCKET, "ab", "3 to 63 characters"),
        (name_rules.S3_BUCKET, "Frontend-x", "must match"),
        (name_rules.S3_BUCKET, "192.168.1.1", "IP address"),
        (name_rules.S3_BUCKET, "xn--bucket", 'not begin with "xn--"'),
        (name_rules.S3_BUCKET, "bucket-s3alias", 'not end with "-s3alias"'),
        (name_rules.S3_BUCKET, "a..b", "two adjacent periods"),
        (name_rules.LOG_GROUP, "aws/thing", 'not begin with "aws/"'),
        (name_rules.KMS_ALIAS, "alias/aws/x", 'not begin with "alias/aws/"'),
        (name_rules.SECURITY_GROUP, "sg-web", 'not begin with "sg-"'),
        (name_rules.ECR_REPOSITORY, "Api", "must match"),
    ],
)
def test_aws_specific_rules(rule: name_rules.NameRule, name: str, fragment: str) -> None:
    assert any(fragment in problem for problem in rule.problems(name)), rule.problems(name)


def test_physical_names_follow_the_convention() -> None:
    assert naming.physical_name(naming.Names.alb, "prod1") == "alb-prod1"
    assert naming.physical_name(naming.Names.db_cluster, "prod1") == "aurora-cluster-prod1"
    assert (
        naming.per_az_name(naming.PerAzNames.nat_gateway, "us-east-1a", "prod1")
        == "nat-us-east-1a-prod1"
    )
