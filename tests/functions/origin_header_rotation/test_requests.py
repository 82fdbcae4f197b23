"""Each step's requests, exactly and in order, with botocore's Stubber on real boto3 clients
(which checks every request and response against the service's model): what the function
asks of Secrets Manager, ELB, WAF and CloudFront, hence the IAM actions its role needs."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from functions.origin_header_rotation import handler, header_values
from functions.origin_header_rotation.rotation_error import RotationError
from tests.functions.origin_header_rotation import edge_samples
from tests.functions.origin_header_rotation.edge_samples import (
    DISTRIBUTION_ID,
    LISTENER_RULE_ARN,
    RULE_GROUP_ID,
    RULE_GROUP_NAME,
)

SECRET_ARN = (
    f"arn:aws:secretsmanager:{edge_samples.REGION}:{edge_samples.ACCOUNT}"
    ":secret:cloudfront-origin-header-dev-AbCdEf"
)
TOKEN = "7c4d2a1e-0b3f-4e5a-9c8d-1f2e3d4c5b6a"
OLD_VERSION = "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"
OLD, NEW = "a1" * 32, "b2" * 32
CURRENT, PENDING = "AWSCURRENT", "AWSPENDING"
SERVICES = ("secretsmanager", "elbv2", "wafv2", "cloudfront")
GROUP = {"Name": RULE_GROUP_NAME, "Scope": "REGIONAL", "Id": RULE_GROUP_ID}


def exact_match(value: str) -> dict[str, Any]:
    """The ByteMatchStatement the stack writes (web_acl.py), written out in full here."""
    return {
        "ByteMatchStatement": {
            "SearchString": value.encode(),
            "FieldToMatch": {"SingleHeader": {"Name": "x-origin-verify"}},
            "TextTransformations": [{"Priority": 0, "Type": "NONE"}],
            "PositionalConstraint": "EXACTLY",
        }
    }


def origin_rule(statement: dict[str, Any]) -> dict[str, Any]:
    """The group's rule around ``statement``: everything else as the stack wrote it."""
    return {
        "Name": "FromCloudFront",
        "Priority": 0,
        "Statement": statement,
        "Action": {"Count": {}},
        "RuleLabels": [{"Name": "payments-cloudfront-origin"}],
        "VisibilityConfig": {
            "SampledRequestsEnabled": True,
            "CloudWatchMetricsEnabled": True,
            "MetricName": "FromCloudFront",
        },
    }


BOTH = {"OrStatement": {"Statements": [exact_match(OLD), exact_match(NEW)]}}


@dataclass
class Stubs:
    """A Stubber per client, and every request in order: (service, operation)."""

    stubbers: dict[str, Stubber]
    made: list[tuple[str, str]] = field(default_factory=list)
    slept: list[float] = field(default_factory=list)

    def add(self, service: str, method: str, params: dict[str, Any], response: Any) -> None:
        self.stubbers[service].add_response(method, response, params)

    def fail(self, service: str, method: str, params: dict[str, Any], code: str) -> None:
        self.stubbers[service].add_client_error(method, code, expected_params=params)

    def record(self, model: Any, **_: Any) -> None:
        self.made.append((str(model.service_model.service_name), str(model.name)))

    def done(self) -> None:
        for stubber in self.stubbers.values():
            stubber.assert_no_pending_responses()


@pytest.fixture
def stubs(monkeypatch: pytest.MonkeyPatch) -> Iterator[Stubs]:
    for name, value in edge_samples.environment(SECRET_ARN).items():
        monkeypatch.setenv(name, value)
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(name, "testing")
    clients = {name: boto3.client(name, region_name=edge_samples.REGION) for name in SERVICES}
    stubs = Stubs({name: Stubber(client) for name, client in clients.items()})
    for client in clients.values():
        client.meta.events.register("before-parameter-build", stubs.record)
    monkeypatch.setattr(handler, "_CLIENTS", clients)
    monkeypatch.setattr(header_values, "new_value", lambda: NEW)
    monkeypatch.setattr(handler, "CLOCK", handler.Clock(now=lambda: 0.0, sleep=stubs.slept.append))
    for stubber in stubs.stubbers.values():
        stubber.activate()
    yield stubs
    for stubber in stubs.stubbers.values():
        stubber.deactivate()


def run(step: str, context: object = None) -> None:
    event = {"SecretId": SECRET_ARN, "ClientRequestToken": TOKEN, "Step": step}
    handler.handler(event, context)


def describe(stubs: Stubs, token_stages: list[str], old_stages: list[str]) -> None:
    stubs.add(
        "secretsmanager",
        "describe_secret",
        {"SecretId": SECRET_ARN},
        {
            "ARN": SECRET_ARN,
            "Name": "cloudfront-origin-header-dev",
            "RotationEnabled": True,
            "VersionIdsToStages": {OLD_VERSION: old_stages, TOKEN: token_stages},
        },
    )


def secret_value(stubs: Stubs, params: dict[str, Any], value: str, version: str) -> None:
    response = {"ARN": SECRET_ARN, "Name": "n", "VersionId": version, "SecretString": value}
    stubs.add("secretsmanager", "get_secret_value", {"SecretId": SECRET_ARN, **params}, response)


def distribution(stubs: Stubs, value: str, status: str) -> None:
    config = edge_samples.distribution_config(value)
    stubs.add(
        "cloudfront",
        "get_distribution",
        {"Id": DISTRIBUTION_ID},
        {"Distribution": edge_samples.distribution(config, status), "ETag": "E2"},
    )


def rule(stubs: Stubs, values: list[str]) -> None:
    response = {"Rules": [edge_samples.listener_rule(values)]}
    stubs.add("elbv2", "describe_rules", {"RuleArns": [LISTENER_RULE_ARN]}, response)


def modify_rule(stubs: Stubs, values: list[str]) -> None:
    condition = {
        "Field": "http-header",
        "HttpHeaderConfig": {"HttpHeaderName": "X-Origin-Verify", "Values": values},
    }
    stubs.add(
        "elbv2",
        "modify_rule",
        {"RuleArn": LISTENER_RULE_ARN, "Conditions": [condition]},
        {"Rules": [edge_samples.listener_rule(values)]},
    )


def group(stubs: Stubs, statement: dict[str, Any], lock: str) -> None:
    rule_group = edge_samples.rule_group([OLD])
    rule_group["Rules"] = [origin_rule(statement)]
    response = {"RuleGroup": rule_group, "LockToken": lock}
    stubs.add("wafv2", "get_rule_group", GROUP, response)


def update_group(stubs: Stubs, statement: dict[str, Any], lock: str) -> None:
    request = {
        **GROUP,
        "Rules": [origin_rule(statement)],
        "VisibilityConfig": {
            "SampledRequestsEnabled": True,
            "CloudWatchMetricsEnabled": True,
            "MetricName": RULE_GROUP_NAME,
        },
        "LockToken": lock,
        "Description": "Labels the requests that carry the CloudFront origin header",
    }
    stubs.add("wafv2", "update_rule_group", request, {"NextLockToken": "next"})


def test_create_secret_writes_a_pending_value_once(stubs: Stubs) -> None:
    describe(stubs, [PENDING], [CURRENT])
    secret_value(stubs, {"VersionStage": CURRENT}, OLD, OLD_VERSION)
    missing = {"SecretId": SECRET_ARN, "VersionStage": PENDING, "VersionId": TOKEN}
    stubs.fail("secretsmanager", "get_secret_value", missing, "ResourceNotFoundException")
    put = {
        "SecretId": SECRET_ARN,
        "ClientRequestToken": TOKEN,
        "SecretString": NEW,
        "VersionStages": [PENDING],
    }
    stubs.add("secretsmanager", "put_secret_value", put, {"VersionId": TOKEN})
    run("createSecret")
    stubs.done()
    assert [op for _, op in stubs.made] == [
        "DescribeSecret",
        "GetSecretValue",
        "GetSecretValue",
        "PutSecretValue",
    ]


def test_set_secret_widens_the_alb_and_waf_then_moves_cloudfront_and_waits(stubs: Stubs) -> None:
    describe(stubs, [PENDING], [CURRENT])
    secret_value(stubs, {"VersionStage": CURRENT}, OLD, OLD_VERSION)
    secret_value(stubs, {"VersionStage": PENDING, "VersionId": TOKEN}, NEW, TOKEN)
    distribution(stubs, OLD, "Deployed")
    rule(stubs, [OLD])
    modify_rule(stubs, [OLD, NEW])
    group(stubs, exact_match(OLD), "lock-1")
    update_group(stubs, BOTH, "lock-1")
    config: dict[str, Any] = {
        "DistributionConfig": edge_samples.distribution_config(OLD),
        "ETag": "E1",
    }
    stubs.add("cloudfront", "get_distribution_config", {"Id": DISTRIBUTION_ID}, config)
    new_config = copy.deepcopy(config["DistributionConfig"])
    new_config["Origins"]["Items"][1]["CustomHeaders"]["Items"][0]["HeaderValue"] = NEW
    update = {"Id": DISTRIBUTION_ID, "IfMatch": "E1", "DistributionConfig": new_config}
    updated = {"Distribution": edge_samples.distribution(new_config, "InProgress"), "ETag": "E2"}
    stubs.add("cloudfront", "update_distribution", update, updated)
    distribution(stubs, NEW, "InProgress")
    distribution(stubs, NEW, "Deployed")
    run("setSecret")
    stubs.done()
    assert stubs.made[3:] == [
        ("cloudfront", "GetDistribution"),
        ("elbv2", "DescribeRules"),
        ("elbv2", "ModifyRule"),
        ("wafv2", "GetRuleGroup"),
        ("wafv2", "UpdateRuleGroup"),
        ("cloudfront", "GetDistributionConfig"),
        ("cloudfront", "UpdateDistribution"),
        ("cloudfront", "GetDistribution"),
        ("cloudfront", "GetDistribution"),
    ]
    assert stubs.slept == [handler.POLL_SECONDS]


def test_set_secret_on_a_distribution_still_in_progress_polls_then_fails_unchanged(
    stubs: Stubs, monkeypatch: pytest.MonkeyPatch
) -> None:
    class Context:  # 100 s left: 40 s of wait, the 60 s margin kept
        def get_remaining_time_in_millis(self) -> int:
            return 100_000

    describe(stubs, [PENDING], [CURRENT])
    secret_value(stubs, {"VersionStage": CURRENT}, OLD, OLD_VERSION)
    secret_value(stubs, {"VersionStage": PENDING, "VersionId": TOKEN}, NEW, TOKEN)
    for _ in range(3):  # at 0, 20 and 40 s
        distribution(stubs, OLD, "InProgress")
    now = iter([0.0, 0.0, 20.0, 40.0])
    monkeypatch.setattr(handler, "CLOCK", handler.Clock(lambda: next(now), stubs.slept.append))
    with pytest.raises(RotationError, match="still InProgress"):
        run("setSecret", Context())
    stubs.done()
    assert stubs.slept == [20.0, 20.0]
    assert not any(op.startswith(("Modify", "Update")) for _, op in stubs.made)


def test_test_secret_reads_the_three_places_and_writes_nothing(stubs: Stubs) -> None:
    describe(stubs, [PENDING], [CURRENT])
    secret_value(stubs, {"VersionStage": PENDING, "VersionId": TOKEN}, NEW, TOKEN)
    distribution(stubs, NEW, "Deployed")
    rule(stubs, [OLD, NEW])
    group(stubs, BOTH, "lock-2")
    run("testSecret")
    stubs.done()


def test_finish_secret_moves_awscurrent_then_narrows_the_alb_and_waf(stubs: Stubs) -> None:
    describe(stubs, [PENDING], [CURRENT])
    secret_value(stubs, {"VersionId": TOKEN}, NEW, TOKEN)
    distribution(stubs, NEW, "Deployed")
    move = {
        "SecretId": SECRET_ARN,
        "VersionStage": CURRENT,
        "MoveToVersionId": TOKEN,
        "RemoveFromVersionId": OLD_VERSION,
    }
    stubs.add("secretsmanager", "update_secret_version_stage", move, {"ARN": SECRET_ARN})
    rule(stubs, [OLD, NEW])
    modify_rule(stubs, [NEW])
    group(stubs, BOTH, "lock-3")
    update_group(stubs, exact_match(NEW), "lock-3")  # one ByteMatchStatement, as the stack's
    run("finishSecret")
    stubs.done()


def test_finish_secret_run_again_after_awscurrent_moved_only_narrows(stubs: Stubs) -> None:
    describe(stubs, [CURRENT, PENDING], ["AWSPREVIOUS"])
    secret_value(stubs, {"VersionId": TOKEN}, NEW, TOKEN)
    distribution(stubs, NEW, "Deployed")
    rule(stubs, [OLD, NEW])
    modify_rule(stubs, [NEW])
    group(stubs, BOTH, "lock-4")
    update_group(stubs, exact_match(NEW), "lock-4")
    run("finishSecret")
    stubs.done()
    assert ("secretsmanager", "UpdateSecretVersionStage") not in stubs.made


@pytest.mark.parametrize("step", ["createSecret", "setSecret", "testSecret"])
def test_other_steps_of_a_finished_rotation_stop_after_describe_secret(
    stubs: Stubs, step: str
) -> None:
    describe(stubs, [CURRENT], ["AWSPREVIOUS"])
    run(step)
    stubs.done()
    assert stubs.made == [("secretsmanager", "DescribeSecret")]
