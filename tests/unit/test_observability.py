"""Observability: encrypted 30-day logs, the ALB log forwarder, alarms, the dashboard."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from payments_infra import REPO_ROOT
from payments_infra.config import StackConfig
from payments_infra.config.errors import ConfigError
from payments_infra.offline import checks, checks_access, checks_conventions
from payments_infra.offline.graph import Graph, Resource
from payments_infra.offline.mocks import record_program
from tests.graph_queries import named
from tests.stacks import SUFFIX, VALID_CONFIG, ZONES

ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"


def forwarder(graph: Graph) -> Resource:
    return named(graph, "aws:lambda/function:Function", f"alb-log-forwarder-{SUFFIX}")


def logs_key(graph: Graph) -> Resource:
    return next(k for k in graph.of_type("aws:kms/key:Key") if k.name == "logs-key-key")


def alarms(graph: Graph) -> dict[str, dict[str, Any]]:
    return {a.inputs["name"]: a.inputs for a in graph.of_type(ALARM)}


def test_every_log_group_keeps_30_days_and_uses_the_logs_key(graph: Graph) -> None:
    groups = graph.of_type("aws:cloudwatch/logGroup:LogGroup")
    assert len(groups) == 14
    key_arn = logs_key(graph).outputs["arn"]
    assert {
        g.inputs["name"]: (g.inputs["retentionInDays"], g.inputs["kmsKeyId"]) for g in groups
    } == {
        name: (30, key_arn)
        for name in [
            f"/aws/vpc/flow-logs-{SUFFIX}",
            f"/aws/rds/cluster/aurora-cluster-{SUFFIX}/postgresql",
            f"/aws/ecs/containerinsights/ecs-cluster-{SUFFIX}/performance",
            f"/ecs/api-{SUFFIX}",
            f"/ecs/migrations-{SUFFIX}",
            f"/ecs/api-keys-{SUFFIX}",
            f"/aws/lambda/db-migrate-{SUFFIX}",
            f"aws-waf-logs-{SUFFIX}",
            f"aws-waf-logs-alb-{SUFFIX}",
            f"/aws/cloudfront/frontend-{SUFFIX}",
            f"/aws/alb/access/alb-{SUFFIX}",
            f"/aws/lambda/alb-log-forwarder-{SUFFIX}",
            f"/aws/lambda/db-password-rotation-{SUFFIX}",
            f"/aws/route53resolver/dns-queries-{SUFFIX}",
        ]
    }


def test_logs_key_lets_cloudwatch_logs_use_it_only_for_this_accounts_groups(graph: Graph) -> None:
    key = logs_key(graph)
    assert key.inputs["enableKeyRotation"] is True and key.inputs["deletionWindowInDays"] == 7
    statements = {s["Sid"]: s for s in json.loads(key.inputs["policy"])["Statement"]}
    logs = statements["CloudWatchLogsEncryptsThisAccountsLogGroups"]
    assert logs["Principal"] == {"Service": "logs.us-east-1.amazonaws.com"}
    assert logs["Condition"] == {
        "ArnLike": {
            "kms:EncryptionContext:aws:logs:arn": "arn:aws:logs:us-east-1:123456789012:log-group:*"
        }
    }
    assert statements["AlarmsPublishToTheEncryptedTopic"]["Principal"] == {
        "Service": "cloudwatch.amazonaws.com"
    }


def test_implicit_log_groups_are_derived_from_the_graph_and_exist_first(graph: Graph) -> None:
    # The check enumerates RDS exports, Container Insights and Lambda functions itself.
    assert checks_conventions.check_implicit_log_groups(graph) == []
    function = forwarder(graph)
    group = named(
        graph, "aws:cloudwatch/logGroup:LogGroup", f"/aws/lambda/alb-log-forwarder-{SUFFIX}"
    )
    assert group.urn in function.dependencies
    broken = graph.without(group.urn)
    assert any(
        "alb-log-forwarder" in p for p in checks_conventions.check_implicit_log_groups(broken)
    )


def test_forwarder_is_an_arm64_python_lambda_writing_to_the_access_log_group(graph: Graph) -> None:
    function = forwarder(graph)
    inputs = function.inputs
    assert inputs["runtime"] == "python3.12" and inputs["architectures"] == ["arm64"]
    assert inputs["handler"] == "handler.handler"
    assert inputs["environment"]["variables"]["LOG_GROUP_NAME"] == f"/aws/alb/access/alb-{SUFFIX}"
    assert inputs["loggingConfig"]["logGroup"] == f"/aws/lambda/alb-log-forwarder-{SUFFIX}"


def test_forwarder_is_triggered_by_new_log_files_and_fails_into_a_queue(graph: Graph) -> None:
    (notification,) = graph.of_type("aws:s3/bucketNotification:BucketNotification")
    function = forwarder(graph)
    assert notification.inputs["bucket"] == f"alb-logs-{SUFFIX}"
    (trigger,) = notification.inputs["lambdaFunctions"]
    assert trigger["lambdaFunctionArn"] == function.outputs["arn"]
    assert trigger["events"] == ["s3:ObjectCreated:*"] and trigger["filterSuffix"] == ".log.gz"
    (permission,) = [
        p
        for p in graph.of_type("aws:lambda/permission:Permission")
        if p.inputs["function"] == function.inputs["name"]
    ]
    assert permission.inputs["principal"] == "s3.amazonaws.com"
    assert permission.urn in notification.dependencies
    (invoke,) = graph.of_type("aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig")
    (queue,) = graph.of_type("aws:sqs/queue:Queue")
    assert invoke.inputs["destinationConfig"]["onFailure"]["destination"] == queue.outputs["arn"]


def test_forwarder_role_is_least_privilege(graph: Graph) -> None:
    policy = named(graph, "aws:iam/rolePolicy:RolePolicy", f"alb-log-forwarder-policy-{SUFFIX}")
    statements = {s["Sid"]: s for s in json.loads(policy.inputs["policy"])["Statement"]}
    bucket = named(graph, "aws:s3/bucket:Bucket", f"alb-logs-{SUFFIX}").outputs["arn"]
    assert statements["ReadAlbLogFiles"] == {
        "Sid": "ReadAlbLogFiles",
        "Effect": "Allow",
        "Action": ["s3:GetObject"],
        "Resource": [f"{bucket}/AWSLogs/*"],
    }
    assert statements["WriteAccessLogs"]["Action"] == ["logs:CreateLogStream", "logs:PutLogEvents"]
    assert checks_access.check_least_privilege(graph) == []


@pytest.mark.parametrize(
    ("key", "metric", "threshold"),
    [
        ("alarm-alb-5xx", "HTTPCode_ELB_5XX_Count", 10),
        ("alarm-target-5xx", "HTTPCode_Target_5XX_Count", 10),
        ("alarm-target-p99", "TargetResponseTime", 1.0),
        ("alarm-unhealthy-hosts", "UnHealthyHostCount", 0),
        ("alarm-running-tasks", "RunningTaskCount", 3),
        ("alarm-ecs-cpu", "CPUUtilization", 85),
        ("alarm-ecs-memory", "MemoryUtilization", 90),
        ("alarm-db-cpu", "CPUUtilization", 80),
        ("alarm-db-memory", "FreeableMemory", 256 * 1024 * 1024),
        ("alarm-db-connections", "DatabaseConnections", 400),
        ("alarm-db-replica-lag", "AuroraReplicaLag", 1000),
        ("alarm-waf-blocked", "BlockedRequests", 1000),
        ("alarm-alb-waf-blocked", "BlockedRequests", 1000),
        ("alarm-forwarder-errors", "Errors", 0),
        ("alarm-forwarder-dead-letters", "ApproximateNumberOfMessagesVisible", 0),
    ],
)
def test_alarm_thresholds_are_as_documented(
    graph: Graph, key: str, metric: str, threshold: float
) -> None:
    alarm = alarms(graph)[f"{key}-{SUFFIX}"]
    assert alarm["metricName"] == metric
    assert alarm["threshold"] == threshold
    page = (REPO_ROOT / "docs" / "architecture.md").read_text()
    assert f"`{key}-{{suffix}}`" in page, f"{key} is not in docs/architecture.md's alarm table"


def test_there_is_a_nat_port_alarm_per_zone(graph: Graph) -> None:
    nat_alarms = [a for name, a in alarms(graph).items() if name.startswith("alarm-nat-ports-")]
    nats = {n.id for n in graph.of_type("aws:ec2/natGateway:NatGateway")}
    assert {a["dimensions"]["NatGatewayId"] for a in nat_alarms} == nats
    assert len(nat_alarms) == len(ZONES)


def test_every_alarm_sends_to_the_alerts_topic_and_explains_itself(graph: Graph) -> None:
    (topic,) = graph.of_type("aws:sns/topic:Topic")
    assert topic.inputs["kmsMasterKeyId"] == logs_key(graph).outputs["arn"]
    for name, alarm in alarms(graph).items():
        assert alarm["alarmActions"] == [topic.outputs["arn"]], name
        assert alarm["okActions"] == [topic.outputs["arn"]], name
        assert len(alarm["alarmDescription"]) > 20, name


def test_every_alarm_dimension_points_at_a_resource_in_the_graph(graph: Graph) -> None:
    # AWS's metrics: their dimensions name resources. (The API's own metrics have values
    # instead, held to metrics.json by test_business_metrics.py.)
    known: set[str] = set()
    for resource in graph:
        known |= {str(v) for k, v in resource.outputs.items() if isinstance(v, str | int | float)}
        known.add(resource.id)
    known.add("ALL")  # WAF's "all rules" dimension value
    for name, alarm in alarms(graph).items():
        metrics = [q["metric"] for q in alarm.get("metricQueries", []) if "metric" in q] or [alarm]
        for metric in metrics:
            if not metric["namespace"].startswith(("AWS/", "ECS/")):
                continue
            for dimension, value in metric["dimensions"].items():
                assert str(value) in known, f"{name}: {dimension}={value} matches nothing"


def test_dashboard_is_valid_json_about_resources_of_the_graph(graph: Graph) -> None:
    (dashboard,) = graph.of_type("aws:cloudwatch/dashboard:Dashboard")
    assert dashboard.inputs["dashboardName"] == f"payments-{SUFFIX}"
    body = json.loads(dashboard.inputs["dashboardBody"])
    titles = " ".join(w["properties"]["title"] for w in body["widgets"])
    for tier in ("ALB", "ECS", "Aurora", "CloudFront", "WAF"):
        assert tier in titles
    alb = graph.of_type("aws:lb/loadBalancer:LoadBalancer")[0].outputs["arnSuffix"]
    cdn = graph.of_type("aws:cloudfront/distribution:Distribution")[0].id
    metrics = json.dumps(body)
    assert alb in metrics and cdn in metrics and f"aurora-cluster-{SUFFIX}" in metrics


def test_alert_emails_become_subscriptions() -> None:
    graph = record_program(
        {**VALID_CONFIG, "payments:alertEmails": '["a@example.com", "b@example.com"]'},
        stack="test",
    )
    subscriptions = graph.of_type("aws:sns/topicSubscription:TopicSubscription")
    assert sorted(s.inputs["endpoint"] for s in subscriptions) == ["a@example.com", "b@example.com"]
    assert {s.inputs["protocol"] for s in subscriptions} == {"email"}


def test_native_delivery_replaces_the_forwarder() -> None:
    graph = record_program(
        {**VALID_CONFIG, "payments:albAccessLogDelivery": "native"}, stack="test"
    )
    assert sorted(str(f.physical_name) for f in graph.of_type("aws:lambda/function:Function")) == [
        f"db-migrate-{SUFFIX}",  # the migration runner and the password rotation: no forwarder
        f"db-password-rotation-{SUFFIX}",
    ]
    sources = graph.of_type("aws:cloudwatch/logDeliverySource:LogDeliverySource")
    (alb_source,) = [s for s in sources if s.inputs["logType"] == "ALB_ACCESS_LOGS"]
    assert (
        alb_source.inputs["resourceArn"]
        == graph.of_type("aws:lb/loadBalancer:LoadBalancer")[0].outputs["arn"]
    )
    assert not any(name.startswith("alarm-forwarder") for name in alarms(graph))
    results = checks.run_checks(graph, SUFFIX, ZONES)
    assert {r.name: r.problems for r in results if not r.passed} == {}


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (
            {"payments:alertEmails": '["not-an-address"]'},
            "payments:alertEmails must hold e-mail addresses only",
        ),
        ({"payments:alertEmails": "oncall@example.com"}, "payments:alertEmails must be a list"),
        (
            {"payments:albAccessLogDelivery": "s3"},
            'payments:albAccessLogDelivery must be forwarder or native; got "s3"',
        ),
    ],
)
def test_bad_observability_settings_fail_clearly(overrides: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(message)):
        StackConfig.from_mapping({**VALID_CONFIG, **overrides}, project="p", stack="s")


@pytest.fixture(scope="module")
def archive_graph() -> Graph:
    return record_program({**VALID_CONFIG, "payments:logArchive": "s3"}, stack="test")


def test_log_archive_is_off_by_default(graph: Graph) -> None:
    assert graph.of_type("aws:cloudwatch/logSubscriptionFilter:LogSubscriptionFilter") == []


def test_log_archive_subscribes_every_log_group_to_the_firehose_stream(
    archive_graph: Graph,
) -> None:
    (stream,) = archive_graph.of_type("aws:kinesis/firehoseDeliveryStream:FirehoseDeliveryStream")
    filters = archive_graph.of_type("aws:cloudwatch/logSubscriptionFilter:LogSubscriptionFilter")
    groups = {g.inputs["name"] for g in archive_graph.of_type("aws:cloudwatch/logGroup:LogGroup")}
    assert {f.inputs["logGroup"] for f in filters} == groups
    assert {f.inputs["destinationArn"] for f in filters} == {stream.outputs["arn"]}
    assert stream.inputs["extendedS3Configuration"]["compressionFormat"] == "UNCOMPRESSED"


def test_log_archive_keeps_a_year_three_months_at_hand(archive_graph: Graph) -> None:
    (rule,) = next(
        r
        for r in archive_graph.of_type(
            "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration"
        )
        if r.name.startswith("log-archive-")
    ).inputs["rules"]
    assert rule["expiration"] == {"days": 365}
    assert rule["transitions"] == [{"days": 90, "storageClass": "GLACIER_IR"}]
    results = checks.run_checks(archive_graph, SUFFIX, ZONES)
    assert {r.name: r.problems for r in results if not r.passed} == {}


def test_bad_log_archive_setting_fails_clearly() -> None:
    with pytest.raises(ConfigError, match='payments:logArchive must be none or s3; got "glacier"'):
        StackConfig.from_mapping(
            {**VALID_CONFIG, "payments:logArchive": "glacier"}, project="p", stack="s"
        )


def children_of(graph: Graph, component_type: str) -> list[Resource]:
    (component,) = graph.of_type(component_type)
    return [r for r in graph if r.parent == component.urn]


def test_observability_knows_no_tier_only_the_topic_alarms_and_dashboard(graph: Graph) -> None:
    kinds = {r.type for r in children_of(graph, "payments:observability:Observability")}
    assert kinds == {
        "aws:sns/topic:Topic",
        "aws:sns/topicPolicy:TopicPolicy",
        "aws:cloudwatch/metricAlarm:MetricAlarm",
        "aws:cloudwatch/dashboard:Dashboard",
    }
    # every tier's: 13 API (one the ALB's WAF, 5 on the API's business metrics), 5 database,
    # 1 CloudFront WAF, 3 NAT, 1 DNS Firewall, 2 logs
    assert len(graph.of_type(ALARM)) == 25


def test_alb_access_logs_are_a_piece_of_their_own_that_reads_the_albs_bucket(
    graph: Graph,
) -> None:
    pieces = children_of(graph, "payments:observability:AlbAccessLogs")
    (notification,) = [
        r for r in pieces if r.type == "aws:s3/bucketNotification:BucketNotification"
    ]
    assert notification.inputs["bucket"] == f"alb-logs-{SUFFIX}"
    assert {r.type for r in pieces} >= {
        "aws:cloudwatch/logGroup:LogGroup",
        "aws:lambda/function:Function",
        "aws:sqs/queue:Queue",
        "aws:iam/role:Role",
    }


def _parents_and_name(urn: str) -> tuple[str, str]:
    """A URN without its own type: its parents' types and its name."""
    _, _, qualified_type, name = urn.split("::", 3)
    return qualified_type.rpartition("$")[0], name


def test_no_resource_carries_an_alias_before_the_first_deploy(archive_graph: Graph) -> None:
    # Nothing is deployed: an alias of ours would keep a URN no stack has. After the first
    # deploy, test_graph_is_reviewed.py asks for one on every reviewed resource that moves.
    # pulumi_aws adds its own for types it renamed (bucketLifecycleConfigurationV2 ->
    # bucketLifecycleConfiguration): same parents, same name, only the type differs.
    ours = [
        (r.name, alias)
        for r in archive_graph
        for alias in r.aliases
        if _parents_and_name(alias) != _parents_and_name(r.urn)
    ]
    assert ours == []
