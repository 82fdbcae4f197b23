"""What the function refuses, with a message that says why and never quotes a value: an
environment not as the stack sets it, another secret, a bad event or version, and places
that do not hold the header as the stack wrote them. And the shapes it takes as they are."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from functions.origin_header_rotation import handler
from functions.origin_header_rotation.rotation_error import RotationError
from functions.origin_header_rotation.rotation_settings import FORMS
from tests.functions.origin_header_rotation import edge_samples
from tests.functions.origin_header_rotation.origin_rig import CURRENT, Rig

MALFORMED = {
    "SECRET_ARN": "cloudfront-origin-header-dev",  # a name, not an ARN
    "LISTENER_RULE_ARN": (  # the listener's ARN, not its rule's
        "arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/alb-dev/"
        "50dc6c495c0c9188/f2f7dc8efc522ab2"
    ),
    "RULE_GROUP_NAME": "waf alb origin",
    "RULE_GROUP_ID": "waf-alb-cloudfront-origin-dev",
    "RULE_GROUP_SCOPE": "CLOUDFRONT",
    "DISTRIBUTION_ID": "d111111abcdef8.cloudfront.net",
    "ORIGIN_ID": "the api",
    "HEADER_NAME": "X-Origin-Verify-X-Origin-Verify-X-Origin-Verify",  # over 40
}


def event(rig: Rig, step: str = "setSecret", token: str | None = None) -> dict[str, str]:
    return {
        "SecretId": rig.arn,
        "ClientRequestToken": token or str(uuid.uuid4()),
        "Step": step,
    }


def test_the_malformed_samples_cover_every_variable() -> None:
    assert set(MALFORMED) == set(FORMS)


@pytest.mark.parametrize("name", sorted(FORMS))
def test_a_missing_variable_is_named_before_any_request(
    rig: Rig, monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    monkeypatch.delenv(name)
    with pytest.raises(RotationError, match=rf"\b{name} is not set"):
        handler.handler(event(rig), None)
    assert rig.edge.calls == []


@pytest.mark.parametrize("name", sorted(FORMS))
def test_a_malformed_variable_is_named_before_any_request(
    rig: Rig, monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    monkeypatch.setenv(name, MALFORMED[name])
    with pytest.raises(RotationError, match=rf"\b{name} is not (a|an|REGIONAL|the)\b") as error:
        handler.handler(event(rig), None)
    assert MALFORMED[name] not in str(error.value)
    assert rig.edge.calls == []


def test_every_problem_of_the_environment_is_listed_at_once(
    rig: Rig, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in FORMS:
        monkeypatch.delenv(name)
    with pytest.raises(RotationError) as error:
        handler.handler(event(rig), None)
    assert all(f"{name} is not set" in str(error.value) for name in FORMS)


def test_another_secret_is_refused_before_any_request(rig: Rig) -> None:
    other = rig.secrets.create_secret(Name="db-credentials", SecretString="x")["ARN"]
    with pytest.raises(RotationError, match=r"\(SECRET_ARN\) only; refusing .*db-credentials"):
        handler.handler({**event(rig), "SecretId": other}, None)
    assert rig.edge.calls == []


def test_an_unknown_step_or_an_incomplete_event_is_refused(rig: Rig) -> None:
    with pytest.raises(RotationError, match="unknown rotation step 'rotate'"):
        handler.handler(event(rig, "rotate"), None)
    with pytest.raises(RotationError, match="lacks one of SecretId, ClientRequestToken, Step"):
        handler.handler({"SecretId": rig.arn, "Step": "setSecret"}, None)


def test_a_secret_without_rotation_or_a_token_that_is_not_pending_is_refused(rig: Rig) -> None:
    with pytest.raises(RotationError, match="rotation is not enabled"):
        handler.handler(event(rig), None)
    token = rig.rotate()
    with pytest.raises(RotationError, match="is not a version of"):
        handler.handler(event(rig), None)
    rig.rotate()  # the first rotation's version is AWSPREVIOUS now
    with pytest.raises(RotationError, match="is not labelled AWSPENDING"):
        handler.handler(event(rig, token=token), None)
    assert rig.stages()[token] == ["AWSPREVIOUS"]


def test_a_current_value_of_another_form_is_refused_without_quoting_it(rig: Rig) -> None:
    bad = "A" * 40 + "*"  # case and a wildcard: the ALB would read it otherwise
    rig.secrets.put_secret_value(SecretId=rig.arn, SecretString=bad, VersionStages=[CURRENT])
    token = rig.rotations.start()
    with pytest.raises(RotationError, match="is not 32 to 128 lowercase letters") as error:
        rig.step("createSecret", token)
    assert bad not in str(error.value)
    assert rig.writes.made == []


def test_a_value_cloudfront_sends_of_another_form_is_refused(rig: Rig) -> None:
    origin = rig.edge.config["Origins"]["Items"][1]
    origin["CustomHeaders"]["Items"][0]["HeaderValue"] = "?" * 64
    token = rig.rotations.start()
    rig.step("createSecret", token)
    with pytest.raises(RotationError, match=r"header of origin api of distribution .* is not"):
        rig.step("setSecret", token)
    assert rig.writes.names() == ["put_secret_value"]


def test_a_listener_rule_without_the_header_condition_is_refused(rig: Rig) -> None:
    rig.edge.rule["Conditions"] = [
        {"Field": "path-pattern", "PathPatternConfig": {"Values": ["/api/*"]}}
    ]
    token = rig.rotations.start()
    rig.step("createSecret", token)
    with pytest.raises(RotationError, match="has 0 http-header conditions on X-Origin-Verify"):
        rig.step("setSecret", token)
    assert rig.writes.names() == ["put_secret_value"]


def test_a_rule_group_without_the_header_rule_is_refused_cloudfront_untouched(rig: Rig) -> None:
    statement = rig.edge.group["Rules"][0]["Statement"]["ByteMatchStatement"]
    statement["FieldToMatch"] = {"SingleHeader": {"Name": "x-other"}}
    token = rig.rotations.start()
    rig.step("createSecret", token)
    with pytest.raises(RotationError, match="has 0 rules matching the X-Origin-Verify header"):
        rig.step("setSecret", token)
    # The listener rule took the new value already: more accepted, nothing refused.
    assert rig.writes.names() == ["put_secret_value", "ModifyRule"]
    assert rig.edge.configured() == rig.first


def test_byte_matches_that_differ_in_more_than_their_values_are_refused(rig: Rig) -> None:
    other = edge_samples.byte_match(rig.first)
    other["ByteMatchStatement"]["TextTransformations"] = [{"Priority": 0, "Type": "LOWERCASE"}]
    rig.edge.group["Rules"][0]["Statement"] = {
        "OrStatement": {"Statements": [edge_samples.byte_match(rig.first), other]}
    }
    token = rig.rotations.start()
    rig.step("createSecret", token)
    with pytest.raises(RotationError, match="differ in more than their search strings"):
        rig.step("setSecret", token)


@pytest.mark.parametrize("where", ["origin", "header"])
def test_a_distribution_without_the_origin_or_its_header_is_refused(
    rig: Rig, monkeypatch: pytest.MonkeyPatch, where: str
) -> None:
    if where == "origin":
        monkeypatch.setenv("ORIGIN_ID", "api-v2")
        message = "has 0 origins with id api-v2"
    else:
        headers = rig.edge.config["Origins"]["Items"][1]["CustomHeaders"]
        headers["Items"].append(dict(headers["Items"][0]))
        headers["Quantity"] = 2
        message = "has 2 custom headers named X-Origin-Verify"
    token = rig.rotations.start()
    rig.step("createSecret", token)
    with pytest.raises(RotationError, match=message):
        rig.step("setSecret", token)
    assert rig.writes.names() == ["put_secret_value"]


def test_the_rules_other_conditions_are_kept_as_modify_rule_takes_them(rig: Rig) -> None:
    paths: dict[str, Any] = {"Field": "path-pattern", "Values": ["/api/*"]}
    paths["PathPatternConfig"] = {"Values": ["/api/*"]}  # DescribeRules shows both
    rig.edge.rule["Conditions"].append(paths)
    token = rig.rotate()
    new = rig.value(version=token)
    assert rig.edge.rule["Conditions"] == [
        edge_samples.header_condition([new]),
        {"Field": "path-pattern", "PathPatternConfig": {"Values": ["/api/*"]}},
    ]
    assert rig.edge.violations == []
