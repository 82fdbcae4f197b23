"""ApiService component: the API on ECS Fargate, in the private subnets.

The ECS cluster, the API's log group, the task roles (least privilege), the task definition,
the service (3 tasks, registered in the load balancer's target group), autoscaling from 3 to
10 tasks, and the one-off tasks that share its image (one_off_tasks.py: the migrations, run
before each new image's tasks, and the key CLI). docs/architecture.md (API tier) describes the
tier. Its security group is SecurityGroups.api_tasks, and every way in and out of it is an
``allow`` in platform.py, handed here as ``network_paths`` so that nothing starts before its
way is open.

It exposes, first, the API's business alarms and the dashboard's business row
(business_metrics.py: the metrics the API writes to its log group in Embedded Metric Format),
then its capacity alarms (running tasks, CPU, memory).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from payments_infra.aws.logs import log_group
from payments_infra.aws.monitoring import Alarm, DashboardWidget
from payments_infra.aws.options import after
from payments_infra.aws.policies import policy_document
from payments_infra.aws.service_roles import service_role
from payments_infra.aws.tagging import name_tag
from payments_infra.components.api.autoscaling import MIN_TASKS, capacity_alarms, scale_with_load
from payments_infra.components.api.business_metrics import business_alarms, business_widgets
from payments_infra.components.api.one_off_tasks import (
    TaskSetting,
    create_one_off_tasks,
)
from payments_infra.components.api.task_definition import (
    CONTAINER_NAME,
    CONTAINER_PORT,
    container_definitions,
    execution_policy,
    read_secret_statements,
)
from payments_infra.components.database.secrets import DatabaseSecrets
from payments_infra.config import REQUIRED_REGION, ServiceSettings
from payments_infra.config.naming import Names, physical_name

DESIRED_TASKS = MIN_TASKS  # at creation only: autoscaling owns the count afterwards
# A first deploy pulls the image, starts 3 tasks and waits out the health-check grace and two
# healthy checks; a rolling update does it again beside the old tasks. 20 minutes is ample
# for both and still ends a deploy whose tasks can never become healthy.
STEADY_STATE_TIMEOUT = "20m"
# Long enough for the image to start and the first health checks to pass.
HEALTH_CHECK_GRACE_SECONDS = 60


@dataclass(frozen=True, kw_only=True)
class ApiServiceArgs:
    """Inputs of the ApiService component."""

    environment_suffix: str
    """Ends every physical name. Required."""
    settings: ServiceSettings
    """Task size, TLS policy, ingress mode (StackConfig.service). Required."""
    image: pulumi.Input[str]
    """The image the tasks run. Required."""
    ecr_repository_arn: pulumi.Input[str] | None
    """The ECR repository the image comes from, for the pull permission; None if not ECR."""
    private_subnet_ids: Sequence[pulumi.Input[str]]
    """Where the tasks go. Required."""
    security_group_id: pulumi.Input[str]
    """The tasks' group (SecurityGroups.api_tasks). Required."""
    network_paths: Sequence[pulumi.Resource]
    """What a task needs before it starts, made by platform.py: the rules that open its ways
    (in from the ALB, out to the database and AWS), the private subnets' routes, and the VPC
    endpoints when there are any. Required."""
    target_group_arn: pulumi.Input[str]
    """The load balancer's target group the service registers its tasks in. Required."""
    forwarding: Sequence[pulumi.Resource]
    """The listener and its rules forwarding to that target group: ECS refuses a target
    group that no listener uses. Required."""
    target_dimensions: Mapping[str, pulumi.Input[str]]
    """The ALB and target group as their metrics name them (LoadBalancer, TargetGroup), for
    the business alarms. Required."""
    database_ready: Sequence[pulumi.Resource]
    """What the migrations need to find a database: its writer instance. Required."""
    database_secrets: DatabaseSecrets
    """The master's secret (the migrations only), the API's login (the service's tasks get it
    and re-read it after a rotation) and the key CLI's (the key task). Required."""
    db_kms_key_arn: pulumi.Input[str]
    """The key the secrets are encrypted with. Required."""
    account_id: pulumi.Input[str]
    """The AWS account, for ARNs and trust conditions. Required."""
    log_kms_key_arn: pulumi.Input[str]
    """The key every log group of the tier is encrypted with (keys.LogsKey). Required."""


class ApiService(pulumi.ComponentResource):
    """ECS Fargate service behind an HTTPS-only ALB, with autoscaling from 3 to 10 tasks."""

    def __init__(
        self, name: str, args: ApiServiceArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("payments:api:ApiService", name, None, opts)
        self._name = name
        self._suffix = args.environment_suffix
        self._log_kms_key_arn = args.log_kms_key_arn
        self._child = pulumi.ResourceOptions(parent=self)

        self._create_cluster()
        self._create_roles(args)
        self._create_one_off_tasks(args)
        self._create_service(args)
        scale_with_load(name, self.cluster, self.service, suffix=self._suffix, opts=self._child)

        self.log_groups = [
            self._insights_logs,
            self.log_group,
            self.migrations.log_group,
            self.migrations_run.runner_log_group,
            self.keys_task.log_group,
        ]
        self.cluster_name = self.cluster.name
        self.service_name = self.service.name
        self._describe_monitoring(args.target_dimensions)
        self.register_outputs(
            {
                "cluster_name": self.cluster_name,
                "service_name": self.service_name,
            }
        )

    def _create_cluster(self) -> None:
        cluster_name = physical_name(Names.ecs_cluster, self._suffix)
        self._insights_logs = insights_logs = log_group(
            f"{self._name}-container-insights-logs",
            Names.container_insights_log_group,
            self._suffix,
            kms_key_arn=self._log_kms_key_arn,
            opts=self._child,
        )
        self.cluster = aws.ecs.Cluster(
            f"{self._name}-cluster",
            aws.ecs.ClusterArgs(
                name=cluster_name,
                settings=[aws.ecs.ClusterSettingArgs(name="containerInsights", value="enabled")],
                tags=name_tag(cluster_name),
            ),
            # Container Insights would otherwise create its log group with no expiry.
            opts=after(self._child, insights_logs),
        )
        aws.ecs.ClusterCapacityProviders(
            f"{self._name}-capacity",
            aws.ecs.ClusterCapacityProvidersArgs(
                cluster_name=self.cluster.name,
                capacity_providers=["FARGATE"],
                default_capacity_provider_strategies=[
                    aws.ecs.ClusterCapacityProvidersDefaultCapacityProviderStrategyArgs(
                        capacity_provider="FARGATE", weight=1
                    )
                ],
            ),
            opts=self._child,
        )
        self.log_group = log_group(
            f"{self._name}-logs",
            Names.api_log_group,
            self._suffix,
            kms_key_arn=self._log_kms_key_arn,
            opts=self._child,
        )

    def _create_roles(self, args: ApiServiceArgs) -> None:
        def ecs_tasks_of_this_account(account: str) -> str:
            return f"arn:aws:ecs:{REQUIRED_REGION}:{account}:*"

        self.execution_role = service_role(
            f"{self._name}-execution",
            Names.task_execution_role,
            Names.task_execution_policy,
            service="ecs-tasks.amazonaws.com",
            source_arn=ecs_tasks_of_this_account,
            description="ECS starts the API tasks: pull the image, write logs, inject "
            "the DB secret",
            account_id=args.account_id,
            policy=pulumi.Output.all(
                secret_arns=pulumi.Output.all(args.database_secrets.app.arn),
                key_arn=args.db_kms_key_arn,
                log_group_arn=self.log_group.arn,
                repository_arn=args.ecr_repository_arn,
            ).apply(lambda v: execution_policy(**v)),
            suffix=self._suffix,
            opts=self._child,
        )
        self.task_role = service_role(
            f"{self._name}-task",
            Names.task_role,
            Names.task_policy,
            service="ecs-tasks.amazonaws.com",
            source_arn=ecs_tasks_of_this_account,
            description="The API itself: re-read its DB login's secret after a rotation",
            account_id=args.account_id,
            policy=pulumi.Output.all(
                secret_arns=pulumi.Output.all(args.database_secrets.app.arn),
                key_arn=args.db_kms_key_arn,
            ).apply(lambda v: policy_document(*read_secret_statements(**v))),
            suffix=self._suffix,
            opts=self._child,
        )

    def _create_one_off_tasks(self, args: ApiServiceArgs) -> None:
        """The migrations, run before the service's new tasks, and the key CLI's task
        (one_off_tasks.py), each with the database login of its job."""
        tasks = create_one_off_tasks(
            self._name,
            TaskSetting(
                image=args.image,
                db_kms_key_arn=args.db_kms_key_arn,
                repository_arn=args.ecr_repository_arn,
                cpu_architecture=args.settings.cpu_architecture,
                account_id=args.account_id,
                log_kms_key_arn=self._log_kms_key_arn,
                suffix=self._suffix,
                opts=self._child,
            ),
            cluster=self.cluster,
            subnet_ids=args.private_subnet_ids,
            security_group_id=args.security_group_id,
            secrets=args.database_secrets,
            # The database, the secrets' values, and the tasks' ways to both.
            after=[*args.database_ready, *args.database_secrets.values, *args.network_paths],
        )
        self.migrations, self.migrations_run, self.keys_task = (
            tasks.migrations,
            tasks.migrations_run,
            tasks.keys,
        )

    def _create_service(self, args: ApiServiceArgs) -> None:
        settings = args.settings
        self.task_definition = aws.ecs.TaskDefinition(
            f"{self._name}-task",
            aws.ecs.TaskDefinitionArgs(
                family=physical_name(Names.task_family, self._suffix),
                cpu=str(settings.cpu),
                memory=str(settings.memory),
                network_mode="awsvpc",
                requires_compatibilities=["FARGATE"],
                runtime_platform=aws.ecs.TaskDefinitionRuntimePlatformArgs(
                    cpu_architecture=settings.cpu_architecture, operating_system_family="LINUX"
                ),
                execution_role_arn=self.execution_role.role.arn,
                task_role_arn=self.task_role.role.arn,
                # The writable /tmp of a read-only root filesystem: task-local storage.
                volumes=[aws.ecs.TaskDefinitionVolumeArgs(name="tmp")],
                container_definitions=pulumi.Output.all(
                    image=args.image,
                    log_group_name=self.log_group.name,
                    secret_arn=args.database_secrets.app.arn,
                ).apply(
                    lambda v: container_definitions(
                        **v, secret_keys=args.database_secrets.secret_keys
                    )
                ),
                tags=name_tag(physical_name(Names.task_family, self._suffix)),
                # Each revision a change replaces stays ACTIVE: the emergency rollback points the
                # service back at one (docs/deploy.md, Rolling back), and ECS refuses a
                # deregistered (INACTIVE) revision. They cost nothing; destroy leaves them too.
                skip_destroy=True,
            ),
            opts=self._child,
        )
        self.service = aws.ecs.Service(
            f"{self._name}-service",
            aws.ecs.ServiceArgs(
                name=physical_name(Names.ecs_service, self._suffix),
                cluster=self.cluster.arn,
                task_definition=self.task_definition.arn,
                desired_count=DESIRED_TASKS,
                launch_type="FARGATE",
                # Pinned rather than LATEST, so a platform change is a reviewed change.
                platform_version="1.4.0",
                network_configuration=aws.ecs.ServiceNetworkConfigurationArgs(
                    subnets=list(args.private_subnet_ids),
                    security_groups=[args.security_group_id],
                    assign_public_ip=False,
                ),
                load_balancers=[
                    aws.ecs.ServiceLoadBalancerArgs(
                        target_group_arn=args.target_group_arn,
                        container_name=CONTAINER_NAME,
                        container_port=CONTAINER_PORT,
                    )
                ],
                health_check_grace_period_seconds=HEALTH_CHECK_GRACE_SECONDS,
                deployment_circuit_breaker=aws.ecs.ServiceDeploymentCircuitBreakerArgs(
                    enable=True, rollback=True
                ),
                deployment_minimum_healthy_percent=100,
                deployment_maximum_percent=200,
                availability_zone_rebalancing="ENABLED",
                propagate_tags="SERVICE",
                enable_ecs_managed_tags=True,
                # `pulumi up` waits until the tasks run and pass their health checks, so a
                # service that cannot start fails the deploy instead of reporting success
                # while the circuit breaker rolls it back.
                wait_for_steady_state=True,
                tags=name_tag(physical_name(Names.ecs_service, self._suffix)),
            ),
            opts=pulumi.ResourceOptions(
                parent=self,
                # A listener rule must forward to the target group before a service can use
                # it; the first tasks need their roles' policies, the secret's value and their
                # ways in and out. New tasks start only once the migrations of their image ran.
                depends_on=[
                    *args.forwarding,
                    self.execution_role.policy,
                    self.task_role.policy,
                    args.database_secrets.app.value,
                    *args.network_paths,
                    self.migrations_run.invocation,
                ],
                # Autoscaling owns the task count after creation: without this, every
                # `pulumi up` would reset it to 3, undoing a scale-out mid-incident.
                ignore_changes=["desiredCount"],
                # How long the wait for steady state may take before `pulumi up` fails.
                custom_timeouts=pulumi.CustomTimeouts(
                    create=STEADY_STATE_TIMEOUT, update=STEADY_STATE_TIMEOUT
                ),
            ),
        )

    def _describe_monitoring(self, target: Mapping[str, pulumi.Input[str]]) -> None:
        cluster, service = self.cluster.name, self.service.name
        self.alarms: list[Alarm] = [
            *business_alarms(self._suffix, target),
            *capacity_alarms(cluster, service, self._suffix),
        ]
        by_service: list[pulumi.Input[str]] = ["ClusterName", cluster, "ServiceName", service]
        # The business row first: whether payments flow is the dashboard's first question.
        self.dashboard_widgets = [
            *business_widgets(),
            DashboardWidget(
                title="ECS CPU and memory (%)",
                metrics=[
                    ["AWS/ECS", "CPUUtilization", *by_service],
                    ["AWS/ECS", "MemoryUtilization", *by_service],
                ],
                stat="Average",
            ),
            DashboardWidget(
                title="ECS running tasks",
                metrics=[["ECS/ContainerInsights", "RunningTaskCount", *by_service]],
                stat="Minimum",
            ),
        ]
