"""ApiService component: the API on ECS Fargate behind its HTTPS-only load balancer.

Creates:
- the tasks' security group ``api-tasks-sg-{suffix}``: 8443 from the load balancer only (made
  with ``allow``); out to AWS on 443, either only to the VPC endpoints and the S3 prefix list
  (``private_apis``, endpoints.py) or, without them, to any address through the NAT gateways;
  out to each ``egress_allow_list`` destination; what else the tasks reach (the database on
  5432) platform.py wires;
- the load balancer (load_balancer.py: ALB, its web ACL, listener and the rules that forward,
  target group, access-log bucket; the origin header CloudFront sends, when it routes /api);
- the ECS cluster ``ecs-cluster-{suffix}`` (Container Insights, whose log group is created
  first with 30 days; Fargate capacity provider), the log group ``/ecs/api-{suffix}``, the
  task execution and task roles (service_roles.py, least privilege), the task definition
  ``api-{suffix}`` (task_definition.py) and the service ``api-service-{suffix}`` (3 tasks in
  the private subnets, no public IP, circuit breaker with rollback, waits for steady state);
- autoscaling from 3 to 10 tasks, tracking 70% CPU and 80% memory.

It exposes the load balancer's alarms and widgets with its own (running tasks, CPU, memory),
and, first, the API's business alarms and the dashboard's business row (business_metrics.py:
the metrics the API itself writes to its log group in Embedded Metric Format).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from payments_infra.aws.logs import log_group
from payments_infra.aws.monitoring import Alarm, DashboardWidget
from payments_infra.aws.naming import physical_name
from payments_infra.aws.options import after
from payments_infra.aws.policies import policy_document
from payments_infra.aws.security_groups import (
    HTTPS_PORT,
    Connectable,
    Rule,
    allow,
    security_group_rule,
)
from payments_infra.aws.service_roles import service_role
from payments_infra.aws.tagging import name_tag
from payments_infra.components.autoscaling import MIN_TASKS, capacity_alarms, scale_with_load
from payments_infra.components.business_metrics import business_alarms, business_widgets
from payments_infra.components.database import DatabaseSecrets
from payments_infra.components.endpoints import PrivateApis
from payments_infra.components.load_balancer import ApiLoadBalancer, ApiLoadBalancerArgs
from payments_infra.components.one_off_tasks import (
    TaskSetting,
    create_one_off_tasks,
)
from payments_infra.components.task_definition import (
    CONTAINER_NAME,
    CONTAINER_PORT,
    container_definitions,
    execution_policy,
    read_secret_statements,
)
from payments_infra.config import REQUIRED_REGION, ServiceSettings

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
    vpc_id: pulumi.Input[str]
    """The VPC. Required."""
    public_subnet_ids: Sequence[pulumi.Input[str]]
    """Where the ALB goes. Required."""
    private_subnet_ids: Sequence[pulumi.Input[str]]
    """Where the tasks go. Required."""
    internet_gateway: pulumi.Resource
    """The VPC's internet gateway: AWS refuses an internet-facing ALB before it. Required."""
    private_egress: Sequence[pulumi.Resource]
    """The private subnets' default routes and associations: tasks need them to pull their
    image and read their secret. Required."""
    certificate_arn: pulumi.Input[str]
    """The listener's certificate (Certificates component). Required."""
    database: Connectable
    """The database's security group: the service's tasks, the migrations and the key CLI
    reach it on ``database_port``. Required."""
    database_port: int
    """The database's port. Required."""
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
    api_domain_name: str | None = None
    """The name the ALB's certificate covers (modes 1 and 2), used for api_url. Default: None."""
    hosted_zone_id: str | None = None
    """Mode 1: the zone where an alias for api_domain_name is made. Default: None."""
    cloudfront_prefix_list_id: pulumi.Input[str] | None = None
    """With ingress "cloudfront": CloudFront's origin-facing prefix list. Default: None."""
    waf_rate_limit: int
    """Requests per client IP per 5 minutes before the ALB's web ACL blocks it. Required."""
    cloudfront_origin: bool = False
    """CloudFront routes /api to the ALB (load_balancer.py: the origin header). Default: False."""
    private_apis: PrivateApis | None = None
    """The AWS APIs inside the VPC (endpoints.py): the tasks then send HTTPS to them and to
    S3's prefix list only, and start after them. None: HTTPS to any address through the NAT
    gateways (payments:vpcEndpoints=false). Default: None."""
    egress_allow_list: Sequence[tuple[ipaddress.IPv4Network, int]] = ()
    """Internet destinations (CIDR, port) the API needs, reached through the NAT gateways
    (payments:egressAllowList). Default: none."""


class ApiService(pulumi.ComponentResource):
    """ECS Fargate service behind an HTTPS-only ALB, with autoscaling from 3 to 10 tasks."""

    def __init__(
        self, name: str, args: ApiServiceArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("payments:service:ApiService", name, None, opts)
        self._name = name
        self._suffix = args.environment_suffix
        self._log_kms_key_arn = args.log_kms_key_arn
        self._child = pulumi.ResourceOptions(parent=self)

        self._create_task_security_group(args.vpc_id)
        self._create_task_egress(args.private_apis, args.egress_allow_list)
        self.load_balancer = ApiLoadBalancer(
            name,
            ApiLoadBalancerArgs(
                environment_suffix=self._suffix,
                settings=args.settings,
                vpc_id=args.vpc_id,
                public_subnet_ids=args.public_subnet_ids,
                internet_gateway=args.internet_gateway,
                certificate_arn=args.certificate_arn,
                account_id=args.account_id,
                api_domain_name=args.api_domain_name,
                hosted_zone_id=args.hosted_zone_id,
                cloudfront_prefix_list_id=args.cloudfront_prefix_list_id,
                waf_rate_limit=args.waf_rate_limit,
                log_kms_key_arn=args.log_kms_key_arn,
                cloudfront_origin=args.cloudfront_origin,
            ),
            opts=self._child,
        )
        allow(
            self.load_balancer.connections,
            self.connections,
            CONTAINER_PORT,
            egress=Rule("alb_out_tasks", "sg_rule_alb_out_tasks", "To the API tasks over HTTPS"),
            ingress=Rule("tasks_in_alb", "sg_rule_tasks_in_alb", "From the ALB only"),
        )
        self._create_cluster()
        # The tasks reach the database on its port, and nothing else does but the rotation
        # function; each rule is made by the tier that owns its group.
        self._way_to_database = allow(
            self.connections,
            args.database,
            args.database_port,
            egress=Rule("tasks_out_db", "sg_rule_tasks_out_db", "To Aurora PostgreSQL over TLS"),
            ingress=Rule(
                "ingress-from-api-tasks",
                "db_ingress_from_tasks",
                "PostgreSQL over TLS from the API tasks, the migrations and the key CLI",
            ),
        )
        self._create_roles(args)
        self._create_one_off_tasks(args)
        self._create_service(args)
        scale_with_load(name, self.cluster, self.service, suffix=self._suffix, opts=self._child)

        self.alb_dns_name = self.load_balancer.alb_dns_name
        self.api_url = self.load_balancer.api_url
        self.log_bucket_name = self.load_balancer.log_bucket_name
        self.log_groups = [
            self._insights_logs,
            self.log_group,
            self.load_balancer.waf_log_group,
            self.migrations.log_group,
            self.migrations_run.runner_log_group,
            self.keys_task.log_group,
        ]
        # What CloudFront must send for the ALB to forward its requests (None: no /api origin).
        self.origin_header = self.load_balancer.origin_header
        self.cluster_name = self.cluster.name
        self.service_name = self.service.name
        self._describe_monitoring()
        self.register_outputs(
            {
                "alb_dns_name": self.alb_dns_name,
                "api_url": self.api_url,
                "cluster_name": self.cluster_name,
                "service_name": self.service_name,
            }
        )

    def _create_task_security_group(self, vpc_id: pulumi.Input[str]) -> None:
        group_name = physical_name("task_security_group", self._suffix)
        self.task_security_group = aws.ec2.SecurityGroup(
            f"{self._name}-tasks-sg",
            aws.ec2.SecurityGroupArgs(
                name=group_name,
                description="API tasks: 8443 from the ALB; out to the database and HTTPS only",
                vpc_id=vpc_id,
                tags=name_tag(group_name),
            ),
            opts=self._child,
        )
        self.connections = Connectable(
            self.task_security_group.id, self._name, self._suffix, self._child
        )

    def _create_task_egress(
        self,
        private_apis: PrivateApis | None,
        allow_list: Sequence[tuple[ipaddress.IPv4Network, int]],
    ) -> None:
        """Where the tasks may send besides the database (PCI DSS 1.3.2). ``self._way_out``
        keeps what a task needs before it starts: the endpoints and the rules that reach them."""
        group = self.task_security_group.id
        self._way_out: list[pulumi.Resource] = []
        if private_apis is None:
            security_group_rule(
                f"{self._name}-tasks_out_https",
                "egress",
                name_key="sg_rule_tasks_out_https",
                suffix=self._suffix,
                security_group_id=group,
                cidr_ipv4="0.0.0.0/0",
                port=HTTPS_PORT,
                description="To AWS APIs (ECR, Secrets Manager, CloudWatch Logs) over HTTPS",
                opts=self._child,
            )
        else:
            self._way_out += allow(
                self.connections,
                private_apis.connections,
                HTTPS_PORT,
                egress=Rule(
                    "tasks_out_endpoints",
                    "sg_rule_tasks_out_endpoints",
                    "To the AWS API endpoints in the VPC over HTTPS",
                ),
                ingress=Rule(
                    "ingress-from-api-tasks",
                    "endpoint_ingress_from_tasks",
                    "HTTPS from the API tasks",
                ),
            )
            s3_rule = security_group_rule(
                f"{self._name}-tasks_out_s3",
                "egress",
                name_key="sg_rule_tasks_out_s3",
                suffix=self._suffix,
                security_group_id=group,
                prefix_list_id=private_apis.s3_prefix_list_id,
                port=HTTPS_PORT,
                description="To S3 (ECR image layers) through the gateway endpoint",
                opts=self._child,
            )
            self._way_out += [*private_apis.endpoints, s3_rule]
        for network, port in dict.fromkeys(allow_list):  # an entry given twice is one rule
            security_group_rule(
                f"{self._name}-tasks_out_allowed-{network.network_address}"
                f"_{network.prefixlen}-{port}",
                "egress",
                name_key="sg_rule_tasks_out_allowed",
                suffix=self._suffix,
                security_group_id=group,
                cidr_ipv4=str(network),
                port=port,
                description=f"To {network} port {port} through the NAT gateways "
                "(payments:egressAllowList)",
                opts=self._child,
            )

    def _create_cluster(self) -> None:
        cluster_name = physical_name("ecs_cluster", self._suffix)
        self._insights_logs = insights_logs = log_group(
            f"{self._name}-container-insights-logs",
            "container_insights_log_group",
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
            "api_log_group",
            self._suffix,
            kms_key_arn=self._log_kms_key_arn,
            opts=self._child,
        )

    def _create_roles(self, args: ApiServiceArgs) -> None:
        def ecs_tasks_of_this_account(account: str) -> str:
            return f"arn:aws:ecs:{REQUIRED_REGION}:{account}:*"

        self.execution_role = service_role(
            f"{self._name}-execution",
            "task_execution",
            service="ecs-tasks.amazonaws.com",
            source_arn=ecs_tasks_of_this_account,
            description="ECS starts the API tasks: pull the image, write logs, inject "
            "the DB secret",
            account_id=args.account_id,
            policy=pulumi.Output.all(
                args.database_secrets.app.arn,
                args.db_kms_key_arn,
                self.log_group.arn,
                args.ecr_repository_arn,
            ).apply(lambda v: execution_policy([v[0]], v[1], v[2], v[3])),
            suffix=self._suffix,
            opts=self._child,
        )
        self.task_role = service_role(
            f"{self._name}-task",
            "task",
            service="ecs-tasks.amazonaws.com",
            source_arn=ecs_tasks_of_this_account,
            description="The API itself: re-read its DB login's secret after a rotation",
            account_id=args.account_id,
            policy=pulumi.Output.all(args.database_secrets.app.arn, args.db_kms_key_arn).apply(
                lambda v: policy_document(*read_secret_statements([v[0]], v[1]))
            ),
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
            security_group_id=self.task_security_group.id,
            secrets=args.database_secrets,
            # The database, the secrets' values, and the tasks' ways to both.
            after=[
                *args.database_ready,
                *args.database_secrets.values,
                *self._way_to_database,
                *args.private_egress,
                *self._way_out,
            ],
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
                family=physical_name("task_family", self._suffix),
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
                    args.image, self.log_group.name, args.database_secrets.app.arn
                ).apply(
                    lambda values: container_definitions(
                        values[0], values[1], values[2], args.database_secrets.secret_keys
                    )
                ),
                tags=name_tag(physical_name("task_family", self._suffix)),
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
                name=physical_name("ecs_service", self._suffix),
                cluster=self.cluster.arn,
                task_definition=self.task_definition.arn,
                desired_count=DESIRED_TASKS,
                launch_type="FARGATE",
                # Pinned rather than LATEST, so a platform change is a reviewed change.
                platform_version="1.4.0",
                network_configuration=aws.ecs.ServiceNetworkConfigurationArgs(
                    subnets=list(args.private_subnet_ids),
                    security_groups=[self.task_security_group.id],
                    assign_public_ip=False,
                ),
                load_balancers=[
                    aws.ecs.ServiceLoadBalancerArgs(
                        target_group_arn=self.load_balancer.target_group.arn,
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
                tags=name_tag(physical_name("ecs_service", self._suffix)),
            ),
            opts=pulumi.ResourceOptions(
                parent=self,
                # A listener rule must forward to the target group before a service can use
                # it; the first tasks need their roles' policies, the secret's value and a
                # route out: with VPC endpoints, the endpoints and the rules that reach them.
                # New tasks start only once the migrations of their image have run.
                depends_on=[
                    self.load_balancer.listener,
                    *self.load_balancer.forwarding_rules,
                    self.execution_role.policy,
                    self.task_role.policy,
                    args.database_secrets.app.value,
                    *args.private_egress,
                    *self._way_out,
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

    def _describe_monitoring(self) -> None:
        cluster, service = self.cluster.name, self.service.name
        target = {
            "LoadBalancer": self.load_balancer.alb.arn_suffix,
            "TargetGroup": self.load_balancer.target_group.arn_suffix,
        }
        self.alarms: list[Alarm] = [
            *self.load_balancer.alarms,
            *capacity_alarms(cluster, service, self._suffix),
            *business_alarms(self._suffix, target),
        ]
        by_service: list[pulumi.Input[str]] = ["ClusterName", cluster, "ServiceName", service]
        # The business row first: whether payments flow is the dashboard's first question.
        self.dashboard_widgets = [
            *business_widgets(),
            *self.load_balancer.dashboard_widgets,
            DashboardWidget(
                "ECS CPU and memory (%)",
                [
                    ["AWS/ECS", "CPUUtilization", *by_service],
                    ["AWS/ECS", "MemoryUtilization", *by_service],
                ],
                stat="Average",
            ),
            DashboardWidget(
                "ECS running tasks",
                [["ECS/ContainerInsights", "RunningTaskCount", *by_service]],
                stat="Minimum",
            ),
        ]
