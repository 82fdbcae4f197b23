"""The deployed API tier (ECS service, ALB, autoscaling), checked against AWS itself."""

from __future__ import annotations

from typing import Any

import pytest

from tests.integration.live_helpers import task_attachment_detail

MIN_TASKS = 3
MAX_TASKS = 10
DB_SECRET_VARIABLES = {"DB_HOST", "DB_PORT", "DB_NAME", "DB_USER", "DB_PASSWORD"}
FORBIDDEN_ENVIRONMENT = {"DB_PASSWORD", "DATABASE_URL"}
SCALING_TARGETS = {
    "ECSServiceAverageCPUUtilization": 70.0,
    "ECSServiceAverageMemoryUtilization": 80.0,
}


@pytest.fixture(scope="module")
def running_tasks(ecs: Any, stack_outputs: dict[str, Any]) -> list[dict[str, Any]]:
    """The service's tasks whose last status is RUNNING."""
    cluster = stack_outputs["ecs_cluster_name"]
    pages = ecs.get_paginator("list_tasks").paginate(
        cluster=cluster, serviceName=stack_outputs["ecs_service_name"], desiredStatus="RUNNING"
    )
    arns = [arn for page in pages for arn in page["taskArns"]]
    tasks: list[dict[str, Any]] = []
    for start in range(0, len(arns), 100):  # DescribeTasks takes at most 100 tasks
        tasks += ecs.describe_tasks(cluster=cluster, tasks=arns[start : start + 100])["tasks"]
    return [t for t in tasks if t["lastStatus"] == "RUNNING"]


@pytest.fixture(scope="module")
def api_containers(ecs: Any, ecs_service: dict[str, Any]) -> list[dict[str, Any]]:
    """The container definitions of the service's current task definition."""
    definition = ecs.describe_task_definition(taskDefinition=ecs_service["taskDefinition"])
    return list(definition["taskDefinition"]["containerDefinitions"])


@pytest.fixture(scope="module")
def target_group_arn(ecs_service: dict[str, Any]) -> str:
    (binding,) = ecs_service["loadBalancers"]
    return str(binding["targetGroupArn"])


@pytest.fixture(scope="module")
def scalable_resource_id(stack_outputs: dict[str, Any]) -> str:
    return f"service/{stack_outputs['ecs_cluster_name']}/{stack_outputs['ecs_service_name']}"


# -- ECS ----------------------------------------------------------------------------------------


def test_service_runs_at_least_three_tasks(
    ecs_service: dict[str, Any], running_tasks: list[dict[str, Any]]
) -> None:
    assert ecs_service["status"] == "ACTIVE", f"service status is {ecs_service['status']}"
    assert len(running_tasks) >= MIN_TASKS, (
        f"{len(running_tasks)} tasks are RUNNING (service: desired "
        f"{ecs_service['desiredCount']}, running {ecs_service['runningCount']}, pending "
        f"{ecs_service['pendingCount']}); at least {MIN_TASKS} should be"
    )


def test_running_tasks_are_spread_over_the_three_zones(
    running_tasks: list[dict[str, Any]], stack_outputs: dict[str, Any]
) -> None:
    zones = sorted({t["availabilityZone"] for t in running_tasks})
    assert zones == sorted(stack_outputs["availability_zones"]), (
        f"running tasks are in {zones}; they should cover all of "
        f"{sorted(stack_outputs['availability_zones'])} so that one zone's loss leaves capacity"
    )


def test_running_tasks_are_in_the_private_subnets(
    running_tasks: list[dict[str, Any]], stack_outputs: dict[str, Any]
) -> None:
    private = set(stack_outputs["private_subnet_ids"])
    placed = {t["taskArn"]: task_attachment_detail(t, "subnetId") for t in running_tasks}
    outside = {arn: subnet for arn, subnet in placed.items() if subnet not in private}
    assert running_tasks and not outside, (
        f"tasks outside the private subnets {sorted(private)}: {outside}"
    )


def test_service_assigns_no_public_ip(ecs_service: dict[str, Any]) -> None:
    vpc = ecs_service["networkConfiguration"]["awsvpcConfiguration"]
    assert vpc["assignPublicIp"] == "DISABLED", f"assignPublicIp is {vpc['assignPublicIp']}"


def test_running_tasks_have_no_public_ip(ec2: Any, running_tasks: list[dict[str, Any]]) -> None:
    eni_ids = [task_attachment_detail(t, "networkInterfaceId") for t in running_tasks]
    assert eni_ids, "no running task to check"
    interfaces = ec2.get_paginator("describe_network_interfaces").paginate(
        NetworkInterfaceIds=eni_ids
    )
    public = {
        i["NetworkInterfaceId"]: i["Association"]["PublicIp"]
        for page in interfaces
        for i in page["NetworkInterfaces"]
        if i.get("Association", {}).get("PublicIp")
    }
    assert not public, f"task network interfaces with a public IP: {public}"


def test_task_definition_injects_the_db_credentials_from_the_apps_login_secret(
    api_containers: list[dict[str, Any]], stack_outputs: dict[str, Any]
) -> None:
    # The API's own login, never the master's (components/database/aurora.py).
    secret_arn = stack_outputs["db_app_secret_arn"]
    secrets = {s["name"]: s["valueFrom"] for c in api_containers for s in c.get("secrets", [])}
    missing = DB_SECRET_VARIABLES - set(secrets)
    assert not missing, f"not injected as secrets: {sorted(missing)} (secrets: {sorted(secrets)})"
    elsewhere = {
        name: source
        for name, source in secrets.items()
        if name in DB_SECRET_VARIABLES and not source.startswith(secret_arn)
    }
    assert not elsewhere, f"DB secrets not read from {secret_arn}: {elsewhere}"


def test_task_definition_has_no_db_password_or_url_in_its_environment(
    api_containers: list[dict[str, Any]],
) -> None:
    environment = {e["name"]: e["value"] for c in api_containers for e in c.get("environment", [])}
    exposed = sorted(FORBIDDEN_ENVIRONMENT & set(environment))
    assert not exposed, f"plain environment variables that must be secrets: {exposed}"
    urls = sorted(n for n, v in environment.items() if v.startswith(("postgres://", "postgresql")))
    assert not urls, f"plain environment variables holding a connection string: {urls}"


# -- ALB ----------------------------------------------------------------------------------------


def test_alb_has_exactly_one_listener_https_443_with_a_tls13_policy(
    elbv2: Any, load_balancer: dict[str, Any]
) -> None:
    pages = elbv2.get_paginator("describe_listeners").paginate(
        LoadBalancerArn=load_balancer["LoadBalancerArn"]
    )
    listeners = [
        (listener["Port"], listener["Protocol"], listener.get("SslPolicy"))
        for page in pages
        for listener in page["Listeners"]
    ]
    assert len(listeners) == 1, f"expected one listener, found {listeners}"
    ((port, protocol, policy),) = listeners
    assert (port, protocol) == (443, "HTTPS"), f"listener is {protocol} on {port}"
    assert policy and policy.startswith("ELBSecurityPolicy-TLS13"), (
        f"listener SSL policy {policy!r} is not a TLS 1.3 policy"
    )


def test_every_registered_target_is_healthy(elbv2: Any, target_group_arn: str) -> None:
    descriptions = elbv2.describe_target_health(TargetGroupArn=target_group_arn)[
        "TargetHealthDescriptions"
    ]
    states = {
        f"{d['Target']['Id']}:{d['Target'].get('Port')}": (
            d["TargetHealth"]["State"],
            d["TargetHealth"].get("Reason", ""),
        )
        for d in descriptions
    }
    assert len(states) >= MIN_TASKS, f"only {len(states)} targets registered: {states}"
    unhealthy = {target: s for target, s in states.items() if s[0] != "healthy"}
    assert not unhealthy, f"targets not healthy (state, reason): {unhealthy}"


def test_alb_writes_access_logs_to_the_stack_bucket(
    elbv2: Any, load_balancer: dict[str, Any], stack_outputs: dict[str, Any]
) -> None:
    attributes = {
        a["Key"]: a["Value"]
        for a in elbv2.describe_load_balancer_attributes(
            LoadBalancerArn=load_balancer["LoadBalancerArn"]
        )["Attributes"]
    }
    assert attributes.get("access_logs.s3.enabled") == "true", "ALB access logs are disabled"
    assert attributes.get("access_logs.s3.bucket") == stack_outputs["alb_logs_bucket_name"], (
        f"access logs go to {attributes.get('access_logs.s3.bucket')!r}, not "
        f"{stack_outputs['alb_logs_bucket_name']!r}"
    )


# -- autoscaling ------------------------------------------------------------------------------


def test_service_scales_between_three_and_ten_tasks(
    appautoscaling: Any, scalable_resource_id: str
) -> None:
    pages = appautoscaling.get_paginator("describe_scalable_targets").paginate(
        ServiceNamespace="ecs",
        ResourceIds=[scalable_resource_id],
        ScalableDimension="ecs:service:DesiredCount",
    )
    targets = [t for page in pages for t in page["ScalableTargets"]]
    assert len(targets) == 1, f"expected one scalable target for {scalable_resource_id}"
    (target,) = targets
    assert (target["MinCapacity"], target["MaxCapacity"]) == (MIN_TASKS, MAX_TASKS), (
        f"scales between {target['MinCapacity']} and {target['MaxCapacity']} tasks, "
        f"not {MIN_TASKS} and {MAX_TASKS}"
    )


def test_service_tracks_70_percent_cpu_and_80_percent_memory(
    appautoscaling: Any, scalable_resource_id: str
) -> None:
    pages = appautoscaling.get_paginator("describe_scaling_policies").paginate(
        ServiceNamespace="ecs",
        ResourceId=scalable_resource_id,
        ScalableDimension="ecs:service:DesiredCount",
    )
    policies = [p for page in pages for p in page["ScalingPolicies"]]
    tracking = [p for p in policies if p["PolicyType"] == "TargetTrackingScaling"]
    configurations = [p["TargetTrackingScalingPolicyConfiguration"] for p in tracking]
    targets = {
        c.get("PredefinedMetricSpecification", {}).get("PredefinedMetricType", "custom metric"): c[
            "TargetValue"
        ]
        for c in configurations
    }
    assert len(tracking) == 2 and targets == SCALING_TARGETS, (
        f"target-tracking policies {targets} (of {len(policies)} policies); "
        f"expected {SCALING_TARGETS}"
    )
