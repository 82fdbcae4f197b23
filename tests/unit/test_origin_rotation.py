"""The CloudFront origin header's rotation (origin_rotation.py, the OriginRotation component),
read from the recorded graph in certificate mode 1 (where CloudFront routes /api to the ALB and
the header exists): the function as functions/origin_header_rotation/README.md asks for it
("Environment", "IAM", "The Pulumi program"), its schedule, the paths the four resources that
carry the first value ignore, and `make up` refreshing first. The function's own steps:
tests/functions/origin_header_rotation.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from payments_infra import REPO_ROOT
from payments_infra.config.errors import ConfigError
from payments_infra.offline.graph import Graph, Resource, SecretValue
from payments_infra.offline.mocks import MOCK_ACCOUNT_ID, record_program
from tests.config_loading import load
from tests.graph_queries import named, only
from tests.stacks import DNS, SUFFIX, VALID_CONFIG

FUNCTION = "aws:lambda/function:Function"
POLICY = "aws:iam/rolePolicy:RolePolicy"
PERMISSION = "aws:lambda/permission:Permission"
ROTATION = "aws:secretsmanager/secretRotation:SecretRotation"
SECRET = "aws:secretsmanager/secret:Secret"
VERSION = "aws:secretsmanager/secretVersion:SecretVersion"
LISTENER_RULE = "aws:lb/listenerRule:ListenerRule"
RULE_GROUP = "aws:wafv2/ruleGroup:RuleGroup"
DISTRIBUTION = "aws:cloudfront/distribution:Distribution"
ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
# The README's "The Pulumi program" table, in the provider schema's camelCase.
IGNORED = {
    ("alb-rule-from-cloudfront", LISTENER_RULE): ["conditions[*].httpHeader.values"],
    ("alb-waf-origin", RULE_GROUP): ["rules[*].statement"],
    ("frontend-cdn", DISTRIBUTION): ["origins[*].customHeaders"],
    ("alb-origin-header-value", VERSION): ["secretString", "versionStages"],
}


def by_name(graph: Graph, type_token: str, name: str) -> Resource:
    (resource,) = [r for r in graph.of_type(type_token) if r.name == name]
    return resource


def function(graph: Graph) -> Resource:
    return by_name(graph, FUNCTION, "origin-rotation-function")


def statements(graph: Graph) -> dict[str, dict[str, Any]]:
    policy = by_name(graph, POLICY, "origin-rotation-policy")
    return {s["Sid"]: s for s in json.loads(policy.inputs["policy"])["Statement"]}


def origin_secret(graph: Graph) -> Resource:
    return named(graph, SECRET, f"cloudfront-origin-header-{SUFFIX}")


def at_path(value: Any, path: str) -> list[Any]:
    """What an ignore_changes path reaches in recorded inputs (``[*]``: every element); a
    part that names nothing reaches nothing."""
    found = [value]
    for part in re.findall(r"[^.\[\]]+|\[\*\]", path):
        # The value is secret, and so is each property that holds it.
        found = [v.value if isinstance(v, SecretValue) else v for v in found]
        if part == "[*]":
            found = [item for v in found if isinstance(v, list) for item in v]
        else:
            found = [v[part] for v in found if isinstance(v, dict) and part in v]
    return found


def test_the_rotation_is_a_component_of_the_platform_with_its_function_and_schedule(
    dns_graph: Graph,
) -> None:
    (component,) = dns_graph.of_type("payments:edge:OriginRotation")
    (platform,) = dns_graph.of_type("payments:platform:PaymentsPlatform")
    assert component.name == "origin-rotation" and component.parent == platform.urn
    children = {(r.type, r.name) for r in dns_graph if r.parent == component.urn}
    assert children == {
        (FUNCTION, "origin-rotation-function"),
        ("aws:cloudwatch/logGroup:LogGroup", "origin-rotation-logs"),
        ("aws:iam/role:Role", "origin-rotation-role"),
        (POLICY, "origin-rotation-policy"),
        (PERMISSION, "origin-rotation-invoked-for-secret"),
        (ROTATION, "origin-rotation-schedule"),
    }


def test_the_function_is_the_readmes(dns_graph: Graph) -> None:
    f = function(dns_graph)
    assert f.inputs["name"] == f"origin-header-rotation-{SUFFIX}"
    assert f.inputs["runtime"] == "python3.12"
    assert f.inputs["handler"] == "handler.handler"
    assert f.inputs["timeout"] == 900
    assert f.inputs["reservedConcurrentExecutions"] == 2
    assert "vpcConfig" not in f.inputs  # ELB, WAF, CloudFront, Secrets Manager: public APIs
    logs = by_name(dns_graph, "aws:cloudwatch/logGroup:LogGroup", "origin-rotation-logs")
    assert logs.inputs["name"] == f"/aws/lambda/origin-header-rotation-{SUFFIX}"
    assert logs.inputs["retentionInDays"] == 30
    logs_key = named(dns_graph, "aws:kms/key:Key", f"logs-key-{SUFFIX}")
    assert logs.inputs["kmsKeyId"] == logs_key.outputs["arn"]


def test_its_environment_names_the_four_places_and_no_value(dns_graph: Graph) -> None:
    rule = by_name(dns_graph, LISTENER_RULE, "alb-rule-from-cloudfront")
    group = by_name(dns_graph, RULE_GROUP, "alb-waf-origin")
    cdn = by_name(dns_graph, DISTRIBUTION, "frontend-cdn")
    assert function(dns_graph).inputs["environment"]["variables"] == {
        "SECRET_ARN": origin_secret(dns_graph).outputs["arn"],
        "LISTENER_RULE_ARN": rule.outputs["arn"],
        "RULE_GROUP_NAME": f"waf-alb-cloudfront-origin-{SUFFIX}",
        "RULE_GROUP_ID": group.id,
        "RULE_GROUP_SCOPE": "REGIONAL",
        "DISTRIBUTION_ID": cdn.id,
        "ORIGIN_ID": "api",
        "HEADER_NAME": "X-Origin-Verify",
    }
    (origin,) = [o for o in at_path(cdn.inputs, "origins[*]") if o["originId"] == "api"]
    assert [h["name"] for h in origin["customHeaders"]] == ["X-Origin-Verify"]


def test_its_role_may_do_exactly_the_readmes_iam_table(dns_graph: Graph) -> None:
    found = statements(dns_graph)
    secret = origin_secret(dns_graph).outputs["arn"]
    key = named(dns_graph, "aws:kms/key:Key", f"origin-header-key-{SUFFIX}").outputs["arn"]
    via = {"StringEquals": {"kms:ViaService": "secretsmanager.us-east-1.amazonaws.com"}}
    logs = f"arn:aws:logs:us-east-1:{MOCK_ACCOUNT_ID}:log-group:/aws/lambda/"
    expected = {
        "RotateTheSecret": (
            [
                "secretsmanager:DescribeSecret",
                "secretsmanager:GetSecretValue",
                "secretsmanager:PutSecretValue",
                "secretsmanager:UpdateSecretVersionStage",
            ],
            [secret],
        ),
        "UseTheSecretsKeyThroughSecretsManager": (["kms:Decrypt", "kms:GenerateDataKey"], [key]),
        "ReadTheListenerRules": (["elasticloadbalancing:DescribeRules"], ["*"]),
        "ModifyTheListenerRule": (
            ["elasticloadbalancing:ModifyRule"],
            [by_name(dns_graph, LISTENER_RULE, "alb-rule-from-cloudfront").outputs["arn"]],
        ),
        "UpdateTheRuleGroup": (
            ["wafv2:GetRuleGroup", "wafv2:UpdateRuleGroup"],
            [by_name(dns_graph, RULE_GROUP, "alb-waf-origin").outputs["arn"]],
        ),
        "UpdateTheDistribution": (
            [
                "cloudfront:GetDistribution",
                "cloudfront:GetDistributionConfig",
                "cloudfront:UpdateDistribution",
            ],
            [by_name(dns_graph, DISTRIBUTION, "frontend-cdn").outputs["arn"]],
        ),
        "WriteItsLogs": (
            ["logs:CreateLogStream", "logs:PutLogEvents"],
            [f"{logs}origin-header-rotation-{SUFFIX}:*"],
        ),
        # Beside the README's table, what every function of the stack needs.
        "DecryptItsEnvironmentThroughLambda": (
            ["kms:Decrypt"],
            [named(dns_graph, "aws:kms/key:Key", f"logs-key-{SUFFIX}").outputs["arn"]],
        ),
        "SendTraces": (["xray:PutTraceSegments", "xray:PutTelemetryRecords"], ["*"]),
    }
    assert {sid: (s["Action"], s["Resource"]) for sid, s in found.items()} == expected
    assert found["UseTheSecretsKeyThroughSecretsManager"]["Condition"] == via
    lambda_via = {"StringEquals": {"kms:ViaService": "lambda.us-east-1.amazonaws.com"}}
    assert found["DecryptItsEnvironmentThroughLambda"]["Condition"] == lambda_via
    assert all(s["Effect"] == "Allow" for s in found.values())
    assert "secretsmanager:GetRandomPassword" not in json.dumps(found)


def test_secrets_manager_may_invoke_it_for_the_origin_secret_only(dns_graph: Graph) -> None:
    permission = by_name(dns_graph, PERMISSION, "origin-rotation-invoked-for-secret")
    assert permission.inputs["function"] == function(dns_graph).inputs["name"]
    assert permission.inputs["action"] == "lambda:InvokeFunction"
    assert permission.inputs["principal"] == "secretsmanager.amazonaws.com"
    assert permission.inputs["sourceArn"] == origin_secret(dns_graph).outputs["arn"]
    assert permission.inputs["sourceAccount"] == MOCK_ACCOUNT_ID


def test_the_secret_rotates_every_30_days_but_not_during_the_up_that_schedules_it(
    dns_graph: Graph,
) -> None:
    schedule = by_name(dns_graph, ROTATION, "origin-rotation-schedule")
    assert schedule.inputs["secretId"] == origin_secret(dns_graph).id
    assert schedule.inputs["rotationLambdaArn"] == function(dns_graph).outputs["arn"]
    assert schedule.inputs["rotationRules"] == {"automaticallyAfterDays": 30}
    assert schedule.inputs["rotateImmediately"] is False
    # Whenever it first runs, the function may run and finds a first value.
    needs = {
        by_name(dns_graph, VERSION, "alb-origin-header-value").urn,
        by_name(dns_graph, PERMISSION, "origin-rotation-invoked-for-secret").urn,
        by_name(dns_graph, POLICY, "origin-rotation-policy").urn,
    }
    assert needs <= set(schedule.dependencies)


def test_a_failed_step_alarms_to_the_alerts_topic(dns_graph: Graph) -> None:
    alarm = named(dns_graph, ALARM, f"alarm-origin-rotation-errors-{SUFFIX}")
    topic = named(dns_graph, "aws:sns/topic:Topic", f"alerts-{SUFFIX}")
    assert alarm.inputs["alarmActions"] == [topic.outputs["arn"]]
    assert alarm.inputs["namespace"] == "AWS/Lambda" and alarm.inputs["metricName"] == "Errors"
    assert alarm.inputs["dimensions"] == {"FunctionName": f"origin-header-rotation-{SUFFIX}"}


@pytest.mark.parametrize(("where", "paths"), sorted(IGNORED.items()))
def test_what_the_rotation_writes_is_ignored_by_a_later_up(
    where: tuple[str, str], paths: list[str], dns_graph: Graph
) -> None:
    name, type_token = where
    resource = by_name(dns_graph, type_token, name)
    assert resource.ignore_changes == paths, name
    # Each path names what the program set (a misspelt path would silently ignore nothing).
    for path in paths:
        assert at_path(resource.inputs, path), f"{name}: {path} reaches no input"


def test_the_first_version_keeps_a_label_no_rotation_moves(dns_graph: Graph) -> None:
    version = by_name(dns_graph, VERSION, "alb-origin-header-value")
    assert version.inputs["versionStages"] == ["AWSCURRENT", "PULUMI"]
    assert version.inputs["secretId"] == origin_secret(dns_graph).id


def test_without_an_api_origin_there_is_no_header_and_nothing_to_rotate(graph: Graph) -> None:
    assert not graph.of_type("payments:edge:OriginRotation")
    assert not [r for r in graph if r.name.startswith("origin-rotation")]
    assert only(graph, DISTRIBUTION).ignore_changes == []


def test_the_schedule_follows_the_setting_and_its_bounds_are_secrets_managers() -> None:
    graph = record_program(
        {**VALID_CONFIG, **DNS, "payments:originHeaderRotationDays": "1000"}, stack="test"
    )
    schedule = by_name(graph, ROTATION, "origin-rotation-schedule")
    assert schedule.inputs["rotationRules"] == {"automaticallyAfterDays": 1000}
    assert load().frontend.origin_header_rotation_days == 30
    assert load(**{"payments:originHeaderRotationDays": "1"}).frontend.origin_header_rotation_days
    assert "payments:originHeaderRotationDays" in (REPO_ROOT / "docs" / "settings.md").read_text()


@pytest.mark.parametrize("days", ["0", "1001", "-1", "weekly", "1.5"])
def test_bad_rotation_days_fail_clearly(days: str) -> None:
    with pytest.raises(
        ConfigError,
        match="payments:originHeaderRotationDays must be a whole number from 1 to 1000; "
        f'got "{days}"',
    ):
        load(**{"payments:originHeaderRotationDays": days})


def test_make_up_refreshes_before_it_previews_and_deploys() -> None:
    makefile = (REPO_ROOT / "Makefile").read_text()
    up = makefile[makefile.index("\nup:") : makefile.index("\nverify:")]
    commands = [line.strip() for line in up.splitlines() if line.strip().startswith("pulumi ")]
    previews = [c for c in commands if c.startswith("pulumi preview")]
    ups = [c for c in commands if c.startswith("pulumi up")]
    assert len(previews) == 1 and len(ups) == 1, commands
    assert "--refresh" in previews[0].split() and "--refresh" in ups[0].split(), commands
