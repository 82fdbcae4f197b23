"""Autoscaling of the API's ECS service: 3 to 10 tasks, tracking 70% CPU and 80% memory,
and the alarms that say it is not keeping up.

The service starts at its minimum and ignores its desired count afterwards (service.py): the
count is this target's to change, so a deploy never undoes a scale-out.
"""

from __future__ import annotations

import pulumi
import pulumi_aws as aws

from payments_infra.aws.monitoring import AlarmSpec
from payments_infra.aws.tagging import name_tag
from payments_infra.config.naming import Names, physical_name

MIN_TASKS = 3  # one per zone: losing a zone leaves two thirds of the capacity
MAX_TASKS = 10
CPU_TARGET_PERCENT = 70.0
MEMORY_TARGET_PERCENT = 80.0
# Scale out fast, in slowly: a payment burst should not wait, and flapping costs more than
# a few idle minutes of a task.
SCALE_OUT_COOLDOWN_SECONDS = 60
SCALE_IN_COOLDOWN_SECONDS = 300


def scale_with_load(
    name: str,
    cluster: aws.ecs.Cluster,
    service: aws.ecs.Service,
    *,
    suffix: str,
    opts: pulumi.ResourceOptions,
) -> None:
    """Keep ``service`` between MIN_TASKS and MAX_TASKS, tracking CPU and memory."""
    target = aws.appautoscaling.Target(
        f"{name}-scaling",
        aws.appautoscaling.TargetArgs(
            service_namespace="ecs",
            scalable_dimension="ecs:service:DesiredCount",
            resource_id=pulumi.Output.all(cluster=cluster.name, service=service.name).apply(
                lambda names: f"service/{names['cluster']}/{names['service']}"
            ),
            min_capacity=MIN_TASKS,
            max_capacity=MAX_TASKS,
            tags=name_tag(physical_name(Names.scaling_target, suffix)),
        ),
        opts=opts,
    )
    for metric, percent, key, policy_name in (
        ("ECSServiceAverageCPUUtilization", CPU_TARGET_PERCENT, "cpu", Names.scaling_policy_cpu),
        (
            "ECSServiceAverageMemoryUtilization",
            MEMORY_TARGET_PERCENT,
            "memory",
            Names.scaling_policy_memory,
        ),
    ):
        aws.appautoscaling.Policy(
            f"{name}-scaling-policy-{key}",
            aws.appautoscaling.PolicyArgs(
                name=physical_name(policy_name, suffix),
                policy_type="TargetTrackingScaling",
                service_namespace=target.service_namespace,
                scalable_dimension=target.scalable_dimension,
                resource_id=target.resource_id,
                target_tracking_scaling_policy_configuration=aws.appautoscaling.PolicyTargetTrackingScalingPolicyConfigurationArgs(
                    target_value=percent,
                    predefined_metric_specification=aws.appautoscaling.PolicyTargetTrackingScalingPolicyConfigurationPredefinedMetricSpecificationArgs(
                        predefined_metric_type=metric
                    ),
                    scale_out_cooldown=SCALE_OUT_COOLDOWN_SECONDS,
                    scale_in_cooldown=SCALE_IN_COOLDOWN_SECONDS,
                ),
            ),
            opts=opts,
        )


def capacity_alarms(
    cluster: pulumi.Input[str], service: pulumi.Input[str], suffix: str
) -> list[AlarmSpec]:
    """Fewer tasks than the minimum, or CPU or memory staying above what autoscaling aims
    for: the service is not keeping up."""
    dimensions = {"ClusterName": cluster, "ServiceName": service}
    on_service = (
        f"--cluster {physical_name(Names.ecs_cluster, suffix)} "
        f"--services {physical_name(Names.ecs_service, suffix)}"
    )
    return [
        AlarmSpec(
            name=physical_name(Names.alarm_running_tasks, suffix),
            namespace="ECS/ContainerInsights",
            metric="RunningTaskCount",
            dimensions=dimensions,
            comparison="LessThanThreshold",
            threshold=MIN_TASKS,
            why=f"Fewer than {MIN_TASKS} tasks: one zone's worth of capacity is gone.",
            action=f"aws ecs describe-services {on_service}: its events say why tasks do not "
            "start (image pull, the Fargate vCPU quota, failing health checks); fix that cause "
            "(a bad image: docs/deploy.md, Rolling back); autoscaling restores the count "
            "itself.",
            statistic="Minimum",
            evaluation_periods=3,
            treat_missing_data="breaching",
        ),
        AlarmSpec(
            name=physical_name(Names.alarm_ecs_cpu, suffix),
            namespace="AWS/ECS",
            metric="CPUUtilization",
            dimensions=dimensions,
            comparison="GreaterThanThreshold",
            threshold=85,
            why=f"CPU stays above the {CPU_TARGET_PERCENT:.0f}% scaling target: autoscaling is at "
            f"{MAX_TASKS} tasks or stuck.",
            action=f"At {MAX_TASKS} running tasks (aws ecs describe-services {on_service}): raise "
            "payments:apiCpu (1024 for a whole vCPU) and make up, or MAX_TASKS in "
            "components/api/autoscaling.py; below that: aws application-autoscaling "
            "describe-scaling-activities --service-namespace ecs says why it does not scale.",
            statistic="Average",
            period=300,
            evaluation_periods=3,
        ),
        AlarmSpec(
            name=physical_name(Names.alarm_ecs_memory, suffix),
            namespace="AWS/ECS",
            metric="MemoryUtilization",
            dimensions=dimensions,
            comparison="GreaterThanThreshold",
            threshold=90,
            why=f"Memory stays above the {MEMORY_TARGET_PERCENT:.0f}% scaling target: a leak or "
            "too small a task.",
            action="Climbing in every task: a leak; aws ecs update-service --cluster "
            f"{physical_name(Names.ecs_cluster, suffix)} --service "
            f"{physical_name(Names.ecs_service, suffix)} --force-new-deployment buys time while it "
            "is found. Flat and high: raise payments:apiMemory and make up.",
            statistic="Average",
            period=300,
            evaluation_periods=3,
        ),
    ]
