"""The hardening an assessor's scanner asks for, read from the recorded graph.

Enhanced monitoring on Aurora, ECR with a key of its own and scan on push, every bucket
aborting incomplete multipart uploads, HSTS with preload at the edge, the log forwarder's
reserved concurrency, tracing, encrypted environment and failure destination, and the
dashboard's 5xx rate as an average. Each test fails without its setting; the graph-wide
checks (offline/checks_hardening.py) fail on a graph broken the same way.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from payments_infra.aws.buckets import ABORT_INCOMPLETE_UPLOADS_DAYS
from payments_infra.components.frontend.web_headers import SECURITY_HEADERS
from payments_infra.components.observability.alb_access_logs import FORWARDER_RESERVED_CONCURRENCY
from payments_infra.offline import checks_hardening
from payments_infra.offline.checks_hardening import check_hardening, check_hardening_links
from payments_infra.offline.graph import Graph, Resource
from tests.graph_queries import named, only
from tests.stacks import SUFFIX

INSTANCE = "aws:rds/clusterInstance:ClusterInstance"
FUNCTION = "aws:lambda/function:Function"
LIFECYCLE = "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration"
KEY = "aws:kms/key:Key"


def forwarder(graph: Graph) -> Resource:
    return named(graph, FUNCTION, f"alb-log-forwarder-{SUFFIX}")


def statements(resource: Resource, key: str = "policy") -> dict[str, dict[str, Any]]:
    return {s["Sid"]: s for s in json.loads(resource.inputs[key])["Statement"]}


def test_the_hardening_checks_pass_on_the_real_program(graph: Graph) -> None:
    assert check_hardening(graph) == []
    assert check_hardening_links(graph) == []


# Aurora enhanced monitoring


def test_every_aurora_instance_reports_os_metrics_every_minute_through_its_role(
    graph: Graph,
) -> None:
    role = named(graph, "aws:iam/role:Role", f"aurora-monitoring-role-{SUFFIX}")
    (trust,) = json.loads(role.inputs["assumeRolePolicy"])["Statement"]
    assert trust["Principal"] == {"Service": "monitoring.rds.amazonaws.com"}
    (attachment,) = [
        a
        for a in graph.of_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment")
        if a.inputs["role"] == role.inputs["name"]
    ]
    assert attachment.inputs["policyArn"] == (
        "arn:aws:iam::aws:policy/service-role/AmazonRDSEnhancedMonitoringRole"
    )
    instances = graph.of_type(INSTANCE)
    assert len(instances) == 2
    for instance in instances:
        assert instance.inputs["monitoringInterval"] == 60
        assert instance.inputs["monitoringRoleArn"] == role.outputs["arn"]
        # RDS checks at creation that it may assume the role with its policy.
        assert attachment.urn in instance.dependencies


def test_an_instance_without_enhanced_monitoring_is_caught(graph: Graph) -> None:
    only_instance = graph.of_type(INSTANCE)[0]
    only_instance.inputs["monitoringInterval"] = 0
    assert any("enhanced monitoring" in p for p in check_hardening(graph))


def test_a_monitoring_role_without_the_aws_policy_is_caught(graph: Graph) -> None:
    (attachment,) = [
        a
        for a in graph.of_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment")
        if a.name.startswith("database-monitoring")
    ]
    assert any(
        "AmazonRDSEnhancedMonitoringRole" in p
        for p in check_hardening_links(graph.without(attachment.urn))
    )


# ECR


def test_the_repository_has_a_key_of_its_own_usable_only_through_ecr(graph: Graph) -> None:
    key = named(graph, KEY, f"ecr-key-{SUFFIX}")
    assert key.inputs["enableKeyRotation"] is True and key.inputs["deletionWindowInDays"] == 7
    alias = named(graph, "aws:kms/alias:Alias", f"alias/ecr-{SUFFIX}")
    assert alias.inputs["targetKeyId"] == key.outputs["keyId"]
    use = statements(key)["UseThroughEcr"]
    assert use["Condition"]["StringEquals"] == {
        "kms:ViaService": "ecr.us-east-1.amazonaws.com",
        "kms:CallerAccount": "123456789012",
    }
    assert {"kms:CreateGrant", "kms:RetireGrant", "kms:DescribeKey"} <= set(use["Action"])
    repository = only(graph, "aws:ecr/repository:Repository")
    assert repository.inputs["encryptionConfigurations"] == [
        {"encryptionType": "KMS", "kmsKey": key.outputs["arn"]}
    ]
    assert repository.inputs["imageScanningConfiguration"] == {"scanOnPush": True}


def test_the_image_is_pushed_again_when_the_repository_is_replaced(graph: Graph) -> None:
    # Its encryption is fixed at creation: a stack made before the key replaces it, and the
    # new, empty repository must get the image (same URL, so no input of the build changes).
    image = only(graph, "docker-build:index:Image")
    repository = only(graph, "aws:ecr/repository:Repository")
    assert image.replace_with == [repository.urn]


@pytest.mark.parametrize(
    ("change", "message", "links"),
    [
        (lambda r: r.update(imageScanningConfiguration={"scanOnPush": False}), "scan", False),
        (lambda r: r.update(encryptionConfigurations=[{"encryptionType": "AES256"}]), "KMS", False),
        (
            lambda r: r.update(encryptionConfigurations=[{"encryptionType": "KMS"}]),
            "not encrypted with a key of the stack",
            True,
        ),
    ],
)
def test_a_repository_without_scanning_or_its_key_is_caught(
    graph: Graph, change: Any, message: str, links: bool
) -> None:
    change(only(graph, "aws:ecr/repository:Repository").inputs)
    found = check_hardening_links(graph) if links else check_hardening(graph)
    assert any(message in p for p in found), found


# S3: incomplete multipart uploads


@pytest.mark.parametrize(
    "overrides", [{}, {"payments:logArchive": "s3", "payments:accountControls": "true"}]
)
def test_every_bucket_aborts_incomplete_multipart_uploads(overrides: dict[str, str]) -> None:
    from payments_infra.offline.mocks import record_program  # noqa: PLC0415
    from tests.stacks import VALID_CONFIG  # noqa: PLC0415

    graph = record_program({**VALID_CONFIG, **overrides}, stack="test")
    buckets = {b.inputs["bucket"] for b in graph.of_type("aws:s3/bucket:Bucket")}
    assert len(buckets) == (2 if not overrides else 5)
    days = {}
    for lifecycle in graph.of_type(LIFECYCLE):
        (rule,) = lifecycle.inputs["rules"]
        assert rule["status"] == "Enabled" and rule["filter"] == {"prefix": ""}
        days[lifecycle.inputs["bucket"]] = rule["abortIncompleteMultipartUpload"][
            "daysAfterInitiation"
        ]
    assert set(days) == buckets
    # The ALB's files are small and written at once: a day; the rest, the default week.
    assert days.pop(f"alb-logs-{SUFFIX}") == 1
    assert set(days.values()) == {ABORT_INCOMPLETE_UPLOADS_DAYS}


def test_a_bucket_without_an_aborting_lifecycle_is_caught(graph: Graph) -> None:
    lifecycle = graph.of_type(LIFECYCLE)[0]
    assert any(
        "keeps incomplete multipart uploads" in p
        for p in check_hardening_links(graph.without(lifecycle.urn))
    )
    lifecycle.inputs["rules"][0].pop("abortIncompleteMultipartUpload")
    assert any("does not abort incomplete multipart uploads" in p for p in check_hardening(graph))


# HSTS


def test_cloudfront_sends_hsts_for_a_year_to_every_subdomain_with_preload(graph: Graph) -> None:
    policy = only(graph, "aws:cloudfront/responseHeadersPolicy:ResponseHeadersPolicy")
    hsts = policy.inputs["securityHeadersConfig"]["strictTransportSecurity"]
    assert hsts == {
        "accessControlMaxAgeSec": 31536000,
        "includeSubdomains": True,
        "preload": True,
        "override": True,
    }
    # The loopback edge of the browser tests sends what CloudFront sends.
    assert SECURITY_HEADERS["Strict-Transport-Security"] == (
        "max-age=31536000; includeSubDomains; preload"
    )
    hsts["preload"] = False
    assert any("preload" in p for p in check_hardening(graph))


# The ALB log forwarder


def test_forwarder_has_a_reserved_concurrency_and_traces_actively(graph: Graph) -> None:
    function = forwarder(graph).inputs
    assert function["reservedConcurrentExecutions"] == FORWARDER_RESERVED_CONCURRENCY == 5
    assert function["tracingConfig"] == {"mode": "Active"}
    policy = named(graph, "aws:iam/rolePolicy:RolePolicy", f"alb-log-forwarder-policy-{SUFFIX}")
    assert statements(policy)["SendTraces"] == {
        "Sid": "SendTraces",
        "Effect": "Allow",
        "Action": ["xray:PutTraceSegments", "xray:PutTelemetryRecords"],
        "Resource": ["*"],
    }
    # Lambda checks the tracing permission when it creates the function.
    assert policy.urn in forwarder(graph).dependencies


def test_forwarder_environment_is_encrypted_with_the_logs_key_usable_through_lambda(
    graph: Graph,
) -> None:
    logs_key = next(k for k in graph.of_type(KEY) if k.name == "logs-key-key")
    assert forwarder(graph).inputs["kmsKeyArn"] == logs_key.outputs["arn"]
    lambda_use = statements(logs_key)["EncryptFunctionEnvironmentsThroughLambda"]
    assert lambda_use["Condition"]["StringEquals"]["kms:ViaService"] == (
        "lambda.us-east-1.amazonaws.com"
    )
    policy = named(graph, "aws:iam/rolePolicy:RolePolicy", f"alb-log-forwarder-policy-{SUFFIX}")
    decrypt = statements(policy)["DecryptItsEnvironmentThroughLambda"]
    assert decrypt["Resource"] == [logs_key.outputs["arn"]] and decrypt["Action"] == ["kms:Decrypt"]


def test_forwarder_keeps_its_failure_destination(graph: Graph) -> None:
    invoke = only(graph, "aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig")
    queue = named(graph, "aws:sqs/queue:Queue", f"alb-log-forwarder-failures-{SUFFIX}")
    assert invoke.inputs["functionName"] == forwarder(graph).outputs["name"]
    assert invoke.inputs["destinationConfig"]["onFailure"]["destination"] == queue.outputs["arn"]


@pytest.mark.parametrize(
    ("change", "message", "links"),
    [
        (lambda f: f.pop("tracingConfig"), "does not trace actively", False),
        (lambda f: f.pop("reservedConcurrentExecutions"), "no reserved concurrency", False),
        (lambda f: f.update(reservedConcurrentExecutions=0), "no reserved concurrency", False),
        (lambda f: f.pop("kmsKeyArn"), "environment under an AWS key", True),
    ],
)
def test_a_function_without_its_hardening_is_caught(
    graph: Graph, change: Any, message: str, links: bool
) -> None:
    change(forwarder(graph).inputs)
    found = check_hardening_links(graph) if links else check_hardening(graph)
    assert any(message in p for p in found), found


def test_a_tracing_function_whose_role_may_not_send_traces_is_caught(graph: Graph) -> None:
    policy = named(graph, "aws:iam/rolePolicy:RolePolicy", f"alb-log-forwarder-policy-{SUFFIX}")
    document = json.loads(policy.inputs["policy"])
    document["Statement"] = [s for s in document["Statement"] if s["Sid"] != "SendTraces"]
    policy.inputs["policy"] = json.dumps(document)
    assert any("may not send traces" in p for p in check_hardening_links(graph))


# The dashboard


def test_the_dashboards_5xx_rate_is_an_average_never_a_sum(graph: Graph) -> None:
    (dashboard,) = graph.of_type("aws:cloudwatch/dashboard:Dashboard")
    widgets = json.loads(dashboard.inputs["dashboardBody"])["widgets"]
    rates = [
        w["properties"]
        for w in widgets
        # A metric row is namespace, name, ...; a metric math row holds only its options.
        if any(len(row) > 1 and "Rate" in str(row[1]) for row in w["properties"]["metrics"])
    ]
    assert rates, "the dashboard shows no error rate"
    for properties in rates:
        # A widget's stat applies to every row: a rate never shares one with counts.
        assert properties["stat"] == "Average", properties["title"]
        assert all("Rate" in str(row[1]) for row in properties["metrics"]), properties["title"]


def test_the_check_runs_on_the_settings_it_names() -> None:
    assert set(checks_hardening.SETTINGS) == {
        INSTANCE,
        FUNCTION,
        "aws:ecr/repository:Repository",
        "aws:cloudfront/responseHeadersPolicy:ResponseHeadersPolicy",
        LIFECYCLE,
        "aws:cloudtrail/trail:Trail",
    }
