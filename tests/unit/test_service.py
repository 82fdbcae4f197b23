"""The API service and its tasks (ECS Fargate behind the ALB), read from the recorded graph of
the real program: scaling and deployment, the private subnets and the security groups that
reach them, health checks, the hardened task definition, its secrets and logs, the cluster, and
the roles' least privilege.

The ALB: test_service_alb.py; the image: test_service_image.py; the service's settings:
test_service_settings.py; the one-off tasks: test_one_off_tasks.py."""

from __future__ import annotations

import json
import re

from payments_infra import REPO_ROOT
from payments_infra.components.api.task_definition import CONTAINER_HEALTH_COMMAND
from payments_infra.offline import checks_access
from payments_infra.offline.checks_access import policy_documents
from payments_infra.offline.checks_network import subnet_routing
from payments_infra.offline.graph import Graph
from payments_infra.offline.mocks import MOCK_S3_PREFIX_LIST_ID, record_program
from tests.api_task_queries import API_FAMILY, container, secret_arn, statements
from tests.graph_queries import named, only, security_group_rules, task_definition
from tests.stacks import DNS, SUFFIX, VALID_CONFIG

SERVICE = "aws:ecs/service:Service"
INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
EGRESS = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"


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


def test_security_groups_admit_443_to_the_alb_and_8443_from_it_only(graph: Graph) -> None:
    groups = {g.inputs["name"]: g for g in graph.of_type("aws:ec2/securityGroup:SecurityGroup")}
    alb, tasks = groups[f"alb-sg-{SUFFIX}"], groups[f"api-tasks-sg-{SUFFIX}"]
    db = groups[f"db-sg-{SUFFIX}"]
    endpoints = [
        groups[f"vpce-{e}-sg-{SUFFIX}"] for e in ("ecr-api", "ecr-dkr", "logs", "secretsmanager")
    ]
    assert security_group_rules(graph, INGRESS, alb) == {
        ("tcp", 443, 443, "0.0.0.0/0"),
        ("tcp", 443, 443, "::/0"),
    }
    assert security_group_rules(graph, EGRESS, alb) == {("tcp", 8443, 8443, tasks.id)}
    assert security_group_rules(graph, INGRESS, tasks) == {("tcp", 8443, 8443, alb.id)}
    # With the VPC endpoints (the default): no way to the whole Internet (test_egress.py).
    assert security_group_rules(graph, EGRESS, tasks) == {
        ("tcp", 5432, 5432, db.id),
        *(("tcp", 443, 443, endpoint.id) for endpoint in endpoints),
        ("tcp", 443, 443, MOCK_S3_PREFIX_LIST_ID),
    }
    described = [r for r in [*graph.of_type(INGRESS), *graph.of_type(EGRESS)]]
    assert all(r.inputs.get("description") for r in described)


def test_the_tasks_group_is_made_with_the_others_with_rules_only_as_resources(
    graph: Graph,
) -> None:
    (group,) = [
        g
        for g in graph.of_type("aws:ec2/securityGroup:SecurityGroup")
        if g.inputs["name"] == f"api-tasks-sg-{SUFFIX}"
    ]
    groups = only(graph, "payments:network:SecurityGroups")
    assert group.parent == groups.urn
    assert group.inputs["vpcId"] == only(graph, "aws:ec2/vpc:Vpc").id
    assert not group.inputs.get("ingress") and not group.inputs.get("egress")
    assert only(graph, "aws:ecs/service:Service").inputs["networkConfiguration"][
        "securityGroups"
    ] == [group.id]


def test_cloudfront_only_ingress_uses_the_origin_facing_prefix_list() -> None:
    graph = record_program(
        {**VALID_CONFIG, **DNS, "payments:albIngress": "cloudfront"}, stack="test"
    )
    groups = {g.inputs["name"]: g for g in graph.of_type("aws:ec2/securityGroup:SecurityGroup")}
    assert security_group_rules(graph, INGRESS, groups[f"alb-sg-{SUFFIX}"]) == {
        ("tcp", 443, 443, "pl-3b927c52")
    }


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
    assert checks_access.check_least_privilege(graph) == []
