"""The API tier (ECS Fargate behind the ALB), read from the recorded graph of the real program."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest

from payments_infra import REPO_ROOT
from payments_infra.aws.naming import MAX_SUFFIX_LENGTH
from payments_infra.components.image import ecr_repository_arn_of, source_tag
from payments_infra.components.task_definition import CONTAINER_HEALTH_COMMAND
from payments_infra.config import StackConfig
from payments_infra.config.errors import ConfigError
from payments_infra.offline import checks
from payments_infra.offline.checks_access import policy_documents
from payments_infra.offline.checks_network import subnet_routing
from payments_infra.offline.graph import Graph
from payments_infra.offline.mocks import (
    MOCK_S3_PREFIX_LIST_ID,
    PlaceholderMocks,
    RecordingMonitor,
    record_program,
)
from tests.graph_queries import (
    in_component,
    named,
    only,
    security_group_rules,
    task_container,
    task_definition,
)
from tests.stacks import DNS, SUFFIX, VALID_CONFIG, ZONES

SERVICE = "aws:ecs/service:Service"
INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
EGRESS = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"
SECRET = "aws:secretsmanager/secret:Secret"
# The API's own task definition; the stack has two more, the one-off tasks' (test_one_off_tasks.py).
API_FAMILY = f"api-{SUFFIX}"


def container(graph: Graph) -> dict[str, Any]:
    """The API service's container."""
    return task_container(graph, API_FAMILY)


def secret_arn(graph: Graph, role: str) -> str:
    """The ARN of the database secret ``db-{role}-credentials`` (master, app, keys)."""
    return str(named(graph, SECRET, f"db-{role}-credentials-{SUFFIX}").outputs["arn"])


def test_autoscaling_runs_3_to_10_tasks_tracking_cpu_70_and_memory_80(graph: Graph) -> None:
    target = only(graph, "aws:appautoscaling/target:Target")
    assert (target.inputs["minCapacity"], target.inputs["maxCapacity"]) == (3, 10)
    assert target.inputs["scalableDimension"] == "ecs:service:DesiredCount"
    assert target.inputs["resourceId"] == f"service/ecs-cluster-{SUFFIX}/api-service-{SUFFIX}"
    policies = {
        p.inputs["targetTrackingScalingPolicyConfiguration"]["predefinedMetricSpecification"][
            "predefinedMetricType"
        ]: p.inputs["targetTrackingScalingPolicyConfiguration"]
        for p in graph.of_type("aws:appautoscaling/policy:Policy")
    }
    assert policies["ECSServiceAverageCPUUtilization"]["targetValue"] == 70
    assert policies["ECSServiceAverageMemoryUtilization"]["targetValue"] == 80
    for configuration in policies.values():
        assert configuration["scaleOutCooldown"] < configuration["scaleInCooldown"]


def test_service_starts_3_tasks_and_ignores_the_count_afterwards(graph: Graph) -> None:
    service = only(graph, SERVICE)
    assert service.inputs["desiredCount"] == 3
    assert "desiredCount" in service.ignore_changes


def test_service_deploys_safely(graph: Graph) -> None:
    service = only(graph, SERVICE).inputs
    assert service["deploymentCircuitBreaker"] == {"enable": True, "rollback": True}
    assert service["deploymentMinimumHealthyPercent"] == 100
    assert service["deploymentMaximumPercent"] == 200
    assert service["healthCheckGracePeriodSeconds"] > 0
    assert service["propagateTags"] == "SERVICE"
    assert service["launchType"] == "FARGATE" and service["platformVersion"] == "1.4.0"


def test_tasks_run_in_the_private_subnets_with_no_public_ip(graph: Graph) -> None:
    network = only(graph, SERVICE).inputs["networkConfiguration"]
    private = {r.subnet.id for r in subnet_routing(graph) if r.declared_tier == "private"}
    assert set(network["subnets"]) == private and len(private) == 3
    assert network["assignPublicIp"] is False


def test_health_checks_every_30_seconds_on_the_target_group_and_the_container(
    graph: Graph,
) -> None:
    group = only(graph, "aws:lb/targetGroup:TargetGroup").inputs
    assert group["healthCheck"]["interval"] == 30
    assert group["healthCheck"]["path"] == "/healthz"
    assert group["healthCheck"]["protocol"] == "HTTPS"
    assert group["healthCheck"]["matcher"] == "200"
    check = container(graph)["healthCheck"]
    assert check["interval"] == 30
    assert check["timeout"] and check["retries"] and check["startPeriod"]


def test_container_health_check_is_the_images_healthcheck() -> None:
    dockerfile = (REPO_ROOT / "app" / "api" / "Dockerfile").read_text()
    match = re.search(r"HEALTHCHECK (.*?)\n\s*CMD (\[.*?\])\n", dockerfile, re.S)
    assert match, "the Dockerfile has no HEALTHCHECK"
    assert "--interval=30s" in match[1]
    assert ["CMD", *json.loads(match[2])] == CONTAINER_HEALTH_COMMAND


def test_only_listener_is_https_443_with_the_tls13_policy(graph: Graph) -> None:
    listener = only(graph, "aws:lb/listener:Listener").inputs
    assert (listener["port"], listener["protocol"]) == (443, "HTTPS")
    assert listener["sslPolicy"] == "ELBSecurityPolicy-TLS13-1-2-Res-PQ-2025-09"
    assert listener["certificateArn"]
    (action,) = listener["defaultActions"]
    assert action["type"] == "fixed-response"  # what forwards: test_edge_guardrails.py


def test_target_group_is_https_to_the_tasks_on_8443(graph: Graph) -> None:
    group = only(graph, "aws:lb/targetGroup:TargetGroup").inputs
    assert (group["protocol"], group["port"], group["targetType"]) == ("HTTPS", 8443, "ip")
    assert group["deregistrationDelay"] <= 60
    assert group["name"] == f"tg-api-{SUFFIX}"


def test_alb_is_public_hardened_and_logs_access(graph: Graph) -> None:
    alb = only(graph, "aws:lb/loadBalancer:LoadBalancer")
    public = {r.subnet.id for r in subnet_routing(graph) if r.declared_tier == "public"}
    assert set(alb.inputs["subnets"]) == public
    assert alb.inputs["internal"] is False
    assert alb.inputs["dropInvalidHeaderFields"] is True
    assert alb.inputs["desyncMitigationMode"] == "strictest"
    assert alb.inputs["enableDeletionProtection"] is False
    bucket = named(graph, "aws:s3/bucket:Bucket", f"alb-logs-{SUFFIX}")
    assert alb.inputs["accessLogs"] == {"bucket": bucket.inputs["bucket"], "enabled": True}
    (policy,) = [
        p for p in graph.of_type("aws:s3/bucketPolicy:BucketPolicy") if p.name.startswith("api-")
    ]
    assert policy.urn in alb.dependencies


def test_security_groups_admit_443_to_the_alb_and_8443_from_it_only(graph: Graph) -> None:
    groups = {g.inputs["name"]: g for g in graph.of_type("aws:ec2/securityGroup:SecurityGroup")}
    alb, tasks = groups[f"alb-sg-{SUFFIX}"], groups[f"api-tasks-sg-{SUFFIX}"]
    db, endpoints = groups[f"db-sg-{SUFFIX}"], groups[f"vpce-sg-{SUFFIX}"]
    assert security_group_rules(graph, INGRESS, alb) == {
        ("tcp", 443, 443, "0.0.0.0/0"),
        ("tcp", 443, 443, "::/0"),
    }
    assert security_group_rules(graph, EGRESS, alb) == {("tcp", 8443, 8443, tasks.id)}
    assert security_group_rules(graph, INGRESS, tasks) == {("tcp", 8443, 8443, alb.id)}
    # With the VPC endpoints (the default): no way to the whole Internet (test_egress.py).
    assert security_group_rules(graph, EGRESS, tasks) == {
        ("tcp", 5432, 5432, db.id),
        ("tcp", 443, 443, endpoints.id),
        ("tcp", 443, 443, MOCK_S3_PREFIX_LIST_ID),
    }
    described = [r for r in [*graph.of_type(INGRESS), *graph.of_type(EGRESS)]]
    assert all(r.inputs.get("description") for r in described)


def test_the_tasks_group_is_the_api_tiers_with_rules_only_as_resources(graph: Graph) -> None:
    (group,) = [
        g
        for g in graph.of_type("aws:ec2/securityGroup:SecurityGroup")
        if g.inputs["name"] == f"api-tasks-sg-{SUFFIX}"
    ]
    service = only(graph, "payments:service:ApiService")
    assert group.parent == service.urn
    assert group.inputs["vpcId"] == only(graph, "aws:ec2/vpc:Vpc").id
    assert not group.inputs.get("ingress") and not group.inputs.get("egress")
    assert only(graph, "aws:ecs/service:Service").inputs["networkConfiguration"][
        "securityGroups"
    ] == [group.id]


def test_task_runs_hardened(graph: Graph) -> None:
    definition = container(graph)
    task = task_definition(graph, API_FAMILY).inputs
    assert (task["cpu"], task["memory"]) == ("512", "1024")
    assert task["runtimePlatform"] == {"cpuArchitecture": "ARM64", "operatingSystemFamily": "LINUX"}
    assert task["family"] == f"api-{SUFFIX}"
    assert definition["user"] == "10001:10001"
    assert definition["privileged"] is False
    assert definition["readonlyRootFilesystem"] is True
    assert definition["mountPoints"] == [
        {"sourceVolume": "tmp", "containerPath": "/tmp", "readOnly": False}
    ]
    assert definition["linuxParameters"]["initProcessEnabled"] is True
    assert definition["stopTimeout"] == 30
    assert definition["portMappings"] == [{"containerPort": 8443, "protocol": "tcp"}]


def test_credentials_are_injected_from_the_app_login_secret_never_as_plain_environment(
    graph: Graph,
) -> None:
    definition = container(graph)
    app = secret_arn(graph, "app")
    injected = {s["name"]: s["valueFrom"] for s in definition["secrets"]}
    assert injected == {
        "DB_HOST": f"{app}:host::",
        "DB_NAME": f"{app}:dbname::",
        "DB_PASSWORD": f"{app}:password::",
        "DB_PORT": f"{app}:port::",
        "DB_USER": f"{app}:username::",
    }
    environment = {e["name"]: e["value"] for e in definition["environment"]}
    # The secret the API re-reads after a rotation is the one it logs in with.
    assert environment["DB_SECRET_ARN"] == app
    assert not set(environment) & {"DB_PASSWORD", "DATABASE_URL", "DB_USER"}
    # The master's and the key CLI's credentials never reach the API's container.
    for other in (secret_arn(graph, "master"), secret_arn(graph, "keys")):
        assert other not in json.dumps(definition)


def test_logs_go_to_a_30_day_group_through_awslogs(graph: Graph) -> None:
    options = container(graph)["logConfiguration"]
    assert options["logDriver"] == "awslogs"
    group = named(graph, "aws:cloudwatch/logGroup:LogGroup", f"/ecs/api-{SUFFIX}")
    assert options["options"]["awslogs-group"] == group.inputs["name"]
    assert group.inputs["retentionInDays"] == 30


def test_cluster_has_container_insights_and_its_log_group_first(graph: Graph) -> None:
    cluster = only(graph, "aws:ecs/cluster:Cluster")
    assert {"name": "containerInsights", "value": "enabled"} in cluster.inputs["settings"]
    insights = named(
        graph,
        "aws:cloudwatch/logGroup:LogGroup",
        f"/aws/ecs/containerinsights/ecs-cluster-{SUFFIX}/performance",
    )
    assert insights.urn in cluster.dependencies
    providers = only(graph, "aws:ecs/clusterCapacityProviders:ClusterCapacityProviders")
    assert providers.inputs["capacityProviders"] == ["FARGATE"]


def statements(graph: Graph, name: str) -> dict[str, dict[str, Any]]:
    policy = named(graph, "aws:iam/rolePolicy:RolePolicy", name)
    return {s["Sid"]: s for s in json.loads(policy.inputs["policy"])["Statement"]}


def test_execution_role_may_pull_this_image_write_this_log_group_read_the_app_secret_only(
    graph: Graph,
) -> None:
    found = statements(graph, f"ecs-task-execution-policy-{SUFFIX}")
    secret = secret_arn(graph, "app")
    key = next(
        k.outputs["arn"] for k in graph.of_type("aws:kms/key:Key") if k.name == "database-key"
    )
    log_group = named(graph, "aws:cloudwatch/logGroup:LogGroup", f"/ecs/api-{SUFFIX}")
    repository = only(graph, "aws:ecr/repository:Repository").outputs["arn"]
    assert found["PullApiImage"]["Resource"] == [repository]
    assert found["AuthenticateToEcr"] == {
        "Sid": "AuthenticateToEcr",
        "Effect": "Allow",
        "Action": ["ecr:GetAuthorizationToken"],
        "Resource": "*",
    }
    assert found["WriteTaskLogs"]["Resource"] == [f"{log_group.outputs['arn']}:*"]
    assert found["ReadDatabaseSecret"]["Resource"] == [secret]
    assert found["DecryptDatabaseSecret"]["Resource"] == [key]
    assert set(found) == {
        "PullApiImage",
        "AuthenticateToEcr",
        "WriteTaskLogs",
        "ReadDatabaseSecret",
        "DecryptDatabaseSecret",
    }


def test_task_role_may_read_exactly_the_app_secret(graph: Graph) -> None:
    found = statements(graph, f"ecs-task-policy-{SUFFIX}")
    assert set(found) == {"ReadDatabaseSecret", "DecryptDatabaseSecret"}
    assert found["ReadDatabaseSecret"]["Action"] == ["secretsmanager:GetSecretValue"]
    assert found["ReadDatabaseSecret"]["Resource"] == [secret_arn(graph, "app")]
    condition = found["DecryptDatabaseSecret"]["Condition"]["StringEquals"]
    assert condition == {"kms:ViaService": "secretsmanager.us-east-1.amazonaws.com"}


def test_every_policy_document_in_the_graph_is_least_privilege(graph: Graph) -> None:
    documents = policy_documents(graph)
    assert len(documents) >= 8
    assert checks.check_least_privilege(graph) == []


def test_image_is_built_from_app_api_into_an_immutable_scanned_repository(graph: Graph) -> None:
    repository = only(graph, "aws:ecr/repository:Repository").inputs
    assert repository["imageTagMutability"] == "IMMUTABLE"
    assert repository["imageScanningConfiguration"] == {"scanOnPush": True}
    ecr_key = named(graph, "aws:kms/key:Key", f"ecr-key-{SUFFIX}")
    assert repository["encryptionConfigurations"] == [
        {"encryptionType": "KMS", "kmsKey": ecr_key.outputs["arn"]}
    ]
    assert repository["forceDelete"] is True
    lifecycle = json.loads(only(graph, "aws:ecr/lifecyclePolicy:LifecyclePolicy").inputs["policy"])
    assert lifecycle["rules"][0]["selection"]["countNumber"] == 20
    build = only(graph, "docker-build:index:Image").inputs
    assert build["context"]["location"].endswith("app/api")
    assert build["platforms"] == ["linux/arm64"] and build["push"] is True
    assert build["tags"][0].endswith(f":{source_tag('ARM64')}")
    assert build["tags"][0].endswith("-arm64")
    assert container(graph)["image"].startswith(build["tags"][0] + "@sha256:")


def test_the_image_tag_changes_with_the_platform_and_the_base_image(tmp_path: Path) -> None:
    """The repository's tags are immutable: a rebuild for another platform or on another
    base must push a new tag, or ECR refuses the push."""
    source = tmp_path / "api"
    shutil.copytree(REPO_ROOT / "app" / "api", source, ignore=shutil.ignore_patterns("tests"))
    arm, x86 = source_tag("ARM64", source), source_tag("X86_64", source)
    assert arm != x86 and x86.endswith("-x86-64")
    dockerfile = source / "Dockerfile"
    text = dockerfile.read_text()
    old_base = next(line for line in text.splitlines() if line.startswith("ARG BASE_IMAGE="))
    dockerfile.write_text(
        text.replace(old_base, f"ARG BASE_IMAGE=python:3.12-slim@sha256:{'1' * 64}")
    )
    assert source_tag("ARM64", source) != arm
    dockerfile.write_text(text)
    (source / "payments_api" / "__pycache__").mkdir(exist_ok=True)
    (source / "payments_api" / "__pycache__" / "x.pyc").write_bytes(b"cache")
    assert source_tag("ARM64", source) == arm  # caches are not image inputs


def test_alb_log_bucket_lets_only_elb_log_delivery_write_and_denies_plain_http(
    graph: Graph,
) -> None:
    bucket = named(graph, "aws:s3/bucket:Bucket", f"alb-logs-{SUFFIX}")
    assert bucket.inputs["forceDestroy"]
    document = json.loads(
        in_component(graph, "aws:s3/bucketPolicy:BucketPolicy", "api").inputs["policy"]
    )
    allows = [s for s in document["Statement"] if s["Effect"] == "Allow"]
    assert {json.dumps(s["Principal"], sort_keys=True) for s in allows} == {
        '{"AWS": "arn:aws:iam::127311923021:root"}',
        '{"Service": "logdelivery.elasticloadbalancing.amazonaws.com"}',
    }
    assert all(s["Action"] == ["s3:PutObject"] for s in allows)
    (deny,) = [s for s in document["Statement"] if s["Effect"] == "Deny"]
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    encryption = in_component(
        graph,
        "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
        "api",
    ).inputs["rules"][0]["applyServerSideEncryptionByDefault"]
    assert encryption == {"sseAlgorithm": "AES256"}
    lifecycle = in_component(
        graph, "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration", "api"
    ).inputs["rules"][0]
    assert lifecycle["expiration"] == {"days": 30}
    block = in_component(
        graph, "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", "api"
    ).inputs
    assert all(
        block[k]
        for k in (
            "blockPublicAcls",
            "blockPublicPolicy",
            "ignorePublicAcls",
            "restrictPublicBuckets",
        )
    )


def test_the_longest_valid_suffix_keeps_every_name_inside_its_limit() -> None:
    suffix = "a" + "b" * (MAX_SUFFIX_LENGTH - 1)
    graph = record_program({**VALID_CONFIG, "payments:environmentSuffix": suffix}, stack="test")
    results = checks.run_checks(graph, suffix, ZONES)
    assert {r.name: r.problems for r in results if not r.passed} == {}
    assert len(only(graph, "aws:lb/targetGroup:TargetGroup").inputs["name"]) == 32
    assert len(only(graph, "aws:lb/loadBalancer:LoadBalancer").inputs["name"]) <= 32


def test_a_prebuilt_ecr_image_needs_no_build_and_is_pulled_from_its_own_repository() -> None:
    image = "210987654321.dkr.ecr.us-east-1.amazonaws.com/team/payments-api:1.4.2"
    graph = record_program({**VALID_CONFIG, "payments:apiImage": image}, stack="test")
    assert graph.of_type("aws:ecr/repository:Repository") == []
    assert graph.of_type("docker-build:index:Image") == []
    assert container(graph)["image"] == image
    found = statements(graph, f"ecs-task-execution-policy-{SUFFIX}")
    assert found["PullApiImage"]["Resource"] == [
        "arn:aws:ecr:us-east-1:210987654321:repository/team/payments-api"
    ]


def test_a_prebuilt_image_outside_ecr_gets_no_ecr_permissions() -> None:
    """Only without the endpoints: then the tasks reach any registry through the NAT."""
    graph = record_program(
        {
            **VALID_CONFIG,
            "payments:apiImage": "ghcr.io/acme/payments-api:1.0",
            "payments:vpcEndpoints": "false",
        },
        stack="test",
    )
    found = statements(graph, f"ecs-task-execution-policy-{SUFFIX}")
    assert "PullApiImage" not in found and "AuthenticateToEcr" not in found


@pytest.mark.parametrize(
    "image",
    [
        "ghcr.io/acme/payments-api:1.0",
        "public.ecr.aws/acme/payments-api:1.0",
        "123456789012.dkr.ecr.eu-west-1.amazonaws.com/payments-api:1.0",
        "123456789012.dkr.ecr.us-east-1.amazonaws.com.example.com/payments-api:1.0",
    ],
)
def test_an_image_the_tasks_could_not_pull_is_refused_while_the_endpoints_are_on(
    image: str,
) -> None:
    monitor = RecordingMonitor(PlaceholderMocks())
    with pytest.raises(ConfigError) as raised:
        record_program({**VALID_CONFIG, "payments:apiImage": image}, monitor=monitor)
    assert monitor.recorded == []  # refused before any resource exists
    (problem,) = raised.value.problems
    assert problem.startswith("payments:apiImage must be in a private ECR registry of us-east-1")
    assert f'got "{image}"' in problem
    assert problem.endswith("or set payments:vpcEndpoints to false")


def test_any_accounts_ecr_in_this_region_is_accepted_with_the_endpoints_on() -> None:
    image = f"210987654321.dkr.ecr.us-east-1.amazonaws.com/payments-api@sha256:{'c' * 64}"
    graph = record_program({**VALID_CONFIG, "payments:apiImage": image}, stack="test")
    assert container(graph)["image"] == image


@pytest.mark.parametrize(
    ("image", "arn"),
    [
        ("1.dkr.ecr.us-east-1.amazonaws.com/api:1", "arn:aws:ecr:us-east-1:1:repository/api"),
        (
            "2.dkr.ecr.eu-west-1.amazonaws.com/a/b@sha256:" + "0" * 64,
            "arn:aws:ecr:eu-west-1:2:repository/a/b",
        ),
        ("docker.io/library/python:3.12", None),
        ("localhost:5000/api:1", None),
    ],
)
def test_ecr_repository_arn_of_an_image(image: str, arn: str | None) -> None:
    assert ecr_repository_arn_of(image) == arn


def test_cloudfront_only_ingress_uses_the_origin_facing_prefix_list() -> None:
    graph = record_program(
        {**VALID_CONFIG, **DNS, "payments:albIngress": "cloudfront"}, stack="test"
    )
    groups = {g.inputs["name"]: g for g in graph.of_type("aws:ec2/securityGroup:SecurityGroup")}
    assert security_group_rules(graph, INGRESS, groups[f"alb-sg-{SUFFIX}"]) == {
        ("tcp", 443, 443, "pl-3b927c52")
    }


def load(**overrides: str) -> StackConfig:
    return StackConfig.from_mapping({**VALID_CONFIG, **overrides}, project="p", stack="s")


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
