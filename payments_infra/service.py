"""ApiService component: the API on ECS Fargate behind an HTTPS-only Application Load Balancer.

Creates:
- the security-group rules of the API tier: the ALB takes TCP 443 only (from anywhere, or
  from CloudFront's origin-facing prefix list) and sends only to the tasks on 8443; the tasks
  take 8443 from the ALB only and send only to the database (5432) and to HTTPS (AWS APIs,
  through the NAT gateways and the S3 endpoint);
- the access-log bucket ``alb-logs-{suffix}`` (SSE-S3, as ALB log delivery requires; public
  access blocked; TLS-only policy; 30-day expiry; emptied on destroy);
- the ALB ``alb-{suffix}`` in the public subnets (invalid headers dropped, strictest desync
  mitigation, access logs on, no deletion protection), its only listener, HTTPS on 443 with
  an explicit TLS 1.3 policy (the API's default is still the 2016 one), and the target group
  ``tg-api-{suffix}`` (HTTPS to the tasks on 8443, health check ``/healthz`` every 30 s);
- the ECS cluster ``ecs-cluster-{suffix}`` (Container Insights, whose log group is created
  first with 30 days; Fargate capacity provider), the log group ``/ecs/api-{suffix}``, the
  task execution and task roles (least privilege), the task definition ``api-{suffix}`` and
  the service ``api-service-{suffix}`` (3 tasks in the private subnets, no public IP,
  circuit breaker with rollback);
- autoscaling from 3 to 10 tasks, tracking 70% CPU and 80% memory;
- in certificate mode 1, the Route 53 alias ``api.<domain>`` for the ALB.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from payments_infra.buckets import private_bucket
from payments_infra.config import REQUIRED_REGION, ServiceSettings
from payments_infra.logs import log_group
from payments_infra.naming import physical_name
from payments_infra.policies import deny_insecure_transport, policy_document
from payments_infra.security_groups import security_group_rule
from payments_infra.tagging import name_tag

CONTAINER_NAME = "api"
CONTAINER_PORT = 8443
HTTPS_PORT = 443
DB_PORT = 5432
DESIRED_TASKS = 3
MIN_TASKS = 3
MAX_TASKS = 10
CPU_TARGET_PERCENT = 70.0
MEMORY_TARGET_PERCENT = 80.0
# Scale out fast, in slowly: a payment burst should not wait, and flapping costs more than
# a few idle minutes of a task.
SCALE_OUT_COOLDOWN_SECONDS = 60
SCALE_IN_COOLDOWN_SECONDS = 300
HEALTH_CHECK_INTERVAL_SECONDS = 30
# ECS's stop timeout: SIGTERM, then this long before SIGKILL. The API finishes in-flight
# requests within 25 s (its TIMEOUT_GRACEFUL_SHUTDOWN), inside this window.
STOP_TIMEOUT_SECONDS = 30
# A first deploy pulls the image, starts 3 tasks and waits out the health-check grace and two
# healthy checks; a rolling update does it again beside the old tasks. 20 minutes is ample
# for both and still ends a deploy whose tasks can never become healthy.
STEADY_STATE_TIMEOUT = "20m"
GRACEFUL_SHUTDOWN_SECONDS = 25
# Long enough for the image to start and the first health checks to pass.
HEALTH_CHECK_GRACE_SECONDS = 60
# The ALB stops sending new requests at once; in-flight ones get this long.
DEREGISTRATION_DELAY_SECONDS = 30
# The ELB account that writes access logs in us-east-1 (ELB access-log documentation).
ELB_LOG_ACCOUNT_US_EAST_1 = "127311923021"
ALB_LOG_DAYS = 30
# Same command as the image's HEALTHCHECK (app/api/Dockerfile; a test keeps them equal):
# liveness over HTTPS on localhost, where the certificate is self-signed.
CONTAINER_HEALTH_COMMAND = [
    "CMD",
    "python",
    "-c",
    "import ssl, urllib.request; urllib.request.urlopen('https://localhost:8443/healthz', "
    "context=ssl._create_unverified_context(), timeout=4)",
]


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
    task_security_group_id: pulumi.Input[str]
    """The tasks' group (made by the network; the database admits it). Required."""
    internet_gateway: pulumi.Resource
    """The VPC's internet gateway: AWS refuses an internet-facing ALB before it. Required."""
    private_egress: Sequence[pulumi.Resource]
    """The private subnets' default routes and associations: tasks need them to pull their
    image and read their secret. Required."""
    db_secret_value: pulumi.Resource
    """The secret's value (its SecretVersion): a task that starts before it fails to start
    (ResourceInitializationError). Required."""
    database_security_group_id: pulumi.Input[str]
    """The database's group, the tasks' only destination on 5432. Required."""
    certificate_arn: pulumi.Input[str]
    """The listener's certificate (Certificates component). Required."""
    db_secret_arn: pulumi.Input[str]
    """The database secret the tasks get their credentials from. Required."""
    db_secret_keys: Mapping[str, str]
    """Environment variable -> key of the secret's JSON. Required."""
    db_kms_key_arn: pulumi.Input[str]
    """The key the secret is encrypted with. Required."""
    account_id: pulumi.Input[str]
    """The AWS account, for ARNs and trust conditions. Required."""
    log_kms_key_arn: pulumi.Input[str]
    """The key every log group of the tier is encrypted with (observability.py). Required."""
    api_domain_name: str | None = None
    """The name the ALB's certificate covers (modes 1 and 2), used for api_url. Default: None."""
    hosted_zone_id: str | None = None
    """Mode 1: the zone where an alias for api_domain_name is made. Default: None."""
    cloudfront_prefix_list_id: pulumi.Input[str] | None = None
    """With ingress "cloudfront": CloudFront's origin-facing prefix list. Default: None."""


def ecs_tasks_trust_policy(account_id: str) -> str:
    """Only ECS tasks of this account may assume the role (confused-deputy conditions)."""
    return policy_document(
        {
            "Effect": "Allow",
            "Principal": {"Service": "ecs-tasks.amazonaws.com"},
            "Action": "sts:AssumeRole",
            "Condition": {
                "StringEquals": {"aws:SourceAccount": account_id},
                "ArnLike": {"aws:SourceArn": f"arn:aws:ecs:{REQUIRED_REGION}:{account_id}:*"},
            },
        }
    )


def read_secret_statements(secret_arn: str, key_arn: str) -> list[dict[str, Any]]:
    """Read exactly this secret, and decrypt with exactly its key, only through Secrets Manager."""
    return [
        {
            "Sid": "ReadDatabaseSecret",
            "Effect": "Allow",
            "Action": ["secretsmanager:GetSecretValue"],
            "Resource": [secret_arn],
        },
        {
            "Sid": "DecryptDatabaseSecret",
            "Effect": "Allow",
            "Action": ["kms:Decrypt"],
            "Resource": [key_arn],
            "Condition": {
                "StringEquals": {
                    "kms:ViaService": f"secretsmanager.{REQUIRED_REGION}.amazonaws.com"
                }
            },
        },
    ]


def execution_policy(
    secret_arn: str, key_arn: str, log_group_arn: str, repository_arn: str | None
) -> str:
    """What ECS needs to start a task: pull this image, write this log group, read the secret."""
    statements = [
        {
            "Sid": "WriteApiLogs",
            "Effect": "Allow",
            "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
            "Resource": [f"{log_group_arn}:*"],
        },
        *read_secret_statements(secret_arn, key_arn),
    ]
    if repository_arn:
        statements += [
            {
                "Sid": "AuthenticateToEcr",
                "Effect": "Allow",
                "Action": ["ecr:GetAuthorizationToken"],
                "Resource": "*",  # this action has no resource-level permissions
            },
            {
                "Sid": "PullApiImage",
                "Effect": "Allow",
                "Action": [
                    "ecr:BatchCheckLayerAvailability",
                    "ecr:BatchGetImage",
                    "ecr:GetDownloadUrlForLayer",
                ],
                "Resource": [repository_arn],
            },
        ]
    return policy_document(*statements)


def ecr_repository_arn_of(image: str) -> str | None:
    """The ECR repository ARN of an image reference, or None if it is not in ECR."""
    registry, _, path = image.partition("/")
    parts = registry.split(".")
    if len(parts) < 6 or parts[1:3] != ["dkr", "ecr"] or not path:
        return None
    repository = path.split("@")[0].rsplit(":", 1)[0] if "@" in path else path.rsplit(":", 1)[0]
    return f"arn:aws:ecr:{parts[3]}:{parts[0]}:repository/{repository}"


def container_definitions(
    image: str,
    log_group_name: str,
    secret_arn: str,
    secret_keys: Mapping[str, str],
) -> str:
    """The API container: non-root, read-only root filesystem with a writable /tmp, init
    process on, credentials injected as secrets (never plain environment)."""
    container = {
        "name": CONTAINER_NAME,
        "image": image,
        "essential": True,
        "portMappings": [{"containerPort": CONTAINER_PORT, "protocol": "tcp"}],
        "user": "10001:10001",
        "privileged": False,
        "readonlyRootFilesystem": True,
        "mountPoints": [{"sourceVolume": "tmp", "containerPath": "/tmp", "readOnly": False}],
        "linuxParameters": {"initProcessEnabled": True},
        "stopTimeout": STOP_TIMEOUT_SECONDS,
        "healthCheck": {
            "command": CONTAINER_HEALTH_COMMAND,
            "interval": HEALTH_CHECK_INTERVAL_SECONDS,
            "timeout": 5,
            "retries": 3,
            "startPeriod": 20,
        },
        "secrets": [
            {"name": env, "valueFrom": f"{secret_arn}:{json_key}::"}
            for env, json_key in sorted(secret_keys.items())
        ],
        "environment": [
            {"name": "AWS_REGION", "value": REQUIRED_REGION},
            # Where the API re-reads credentials after a rotation (an ARN, not a secret).
            {"name": "DB_SECRET_ARN", "value": secret_arn},
            {"name": "PORT", "value": str(CONTAINER_PORT)},
            {"name": "TIMEOUT_GRACEFUL_SHUTDOWN", "value": str(GRACEFUL_SHUTDOWN_SECONDS)},
        ],
        "logConfiguration": {
            "logDriver": "awslogs",
            "options": {
                "awslogs-group": log_group_name,
                "awslogs-region": REQUIRED_REGION,
                "awslogs-stream-prefix": CONTAINER_NAME,
                # A slow log pipe must not stall request handling.
                "mode": "non-blocking",
                "max-buffer-size": "25m",
            },
        },
    }
    return json.dumps([container])


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

        self._create_security_groups(args)
        self._create_access_log_bucket(args.account_id)
        self._create_load_balancer(args)
        self._create_cluster()
        self._create_roles(args)
        self._create_service(args)
        self._create_autoscaling()
        if args.api_domain_name and args.hosted_zone_id:
            self._create_alias_record(args.api_domain_name, args.hosted_zone_id)

        self.alb_dns_name = self.alb.dns_name
        self.alb_arn = self.alb.arn
        self.alb_arn_suffix = self.alb.arn_suffix
        self.log_groups = [self._insights_logs, self.log_group]
        self.target_group_arn_suffix = self.target_group.arn_suffix
        self.log_bucket_name = self.log_bucket.bucket
        self.log_bucket_arn = self.log_bucket.arn
        self.cluster_name = self.cluster.name
        self.service_name = self.service.name
        self.api_url = (
            pulumi.Output.from_input(f"https://{args.api_domain_name}")
            if args.api_domain_name
            else self.alb.dns_name.apply(lambda dns: f"https://{dns}")
        )
        self.register_outputs(
            {
                "alb_dns_name": self.alb_dns_name,
                "api_url": self.api_url,
                "cluster_name": self.cluster_name,
                "service_name": self.service_name,
                "alb_logs_bucket": self.log_bucket.bucket,
            }
        )

    # -- network access -------------------------------------------------------------------

    def _rule(self, direction: str, key: str, **rule: Any) -> None:
        security_group_rule(
            f"{self._name}-{key}", direction, f"sg_rule_{key}", self._suffix, parent=self, **rule
        )

    def _create_security_groups(self, args: ApiServiceArgs) -> None:
        self.alb_security_group = aws.ec2.SecurityGroup(
            f"{self._name}-alb-sg",
            aws.ec2.SecurityGroupArgs(
                name=physical_name("alb_security_group", self._suffix),
                description="ALB: HTTPS in, the API tasks out",
                vpc_id=args.vpc_id,
                tags=name_tag(physical_name("alb_security_group", self._suffix)),
            ),
            opts=self._child,
        )
        alb_sg, tasks_sg = self.alb_security_group.id, args.task_security_group_id
        https = {"ip_protocol": "tcp", "from_port": HTTPS_PORT, "to_port": HTTPS_PORT}
        api = {"ip_protocol": "tcp", "from_port": CONTAINER_PORT, "to_port": CONTAINER_PORT}
        if args.settings.ingress == "cloudfront":
            self._rule(
                "ingress",
                "alb_in_https_cloudfront",
                security_group_id=alb_sg,
                prefix_list_id=args.cloudfront_prefix_list_id,
                description="HTTPS from the CloudFront origin-facing addresses only",
                **https,
            )
        else:
            self._rule(
                "ingress",
                "alb_in_https_ipv4",
                security_group_id=alb_sg,
                cidr_ipv4="0.0.0.0/0",
                description="HTTPS from the Internet (IPv4); port 80 stays closed",
                **https,
            )
            self._rule(
                "ingress",
                "alb_in_https_ipv6",
                security_group_id=alb_sg,
                cidr_ipv6="::/0",
                description="HTTPS from the Internet (IPv6); port 80 stays closed",
                **https,
            )
        self._rule(
            "egress",
            "alb_out_tasks",
            security_group_id=alb_sg,
            referenced_security_group_id=tasks_sg,
            description="To the API tasks over HTTPS",
            **api,
        )
        self._rule(
            "ingress",
            "tasks_in_alb",
            security_group_id=tasks_sg,
            referenced_security_group_id=alb_sg,
            description="From the ALB only",
            **api,
        )
        self._rule(
            "egress",
            "tasks_out_db",
            security_group_id=tasks_sg,
            referenced_security_group_id=args.database_security_group_id,
            ip_protocol="tcp",
            from_port=DB_PORT,
            to_port=DB_PORT,
            description="To Aurora PostgreSQL over TLS",
        )
        self._rule(
            "egress",
            "tasks_out_https",
            security_group_id=tasks_sg,
            cidr_ipv4="0.0.0.0/0",
            description="To AWS APIs (ECR, Secrets Manager, CloudWatch Logs) over HTTPS",
            **https,
        )

    # -- load balancer ----------------------------------------------------------------------

    def _create_access_log_bucket(self, account_id: pulumi.Input[str]) -> None:
        # SSE-S3: ALB access logs support no KMS key (ELB documentation).
        self.log_bucket = private_bucket(
            f"{self._name}-alb-logs", "alb_logs_bucket", self._suffix, parent=self
        )
        bucket = self.log_bucket.bucket
        aws.s3.BucketLifecycleConfiguration(
            f"{self._name}-alb-logs-expiry",
            aws.s3.BucketLifecycleConfigurationArgs(
                bucket=bucket,
                rules=[
                    aws.s3.BucketLifecycleConfigurationRuleArgs(
                        id="expire-access-logs",
                        status="Enabled",
                        filter=aws.s3.BucketLifecycleConfigurationRuleFilterArgs(prefix=""),
                        expiration=aws.s3.BucketLifecycleConfigurationRuleExpirationArgs(
                            days=ALB_LOG_DAYS
                        ),
                        abort_incomplete_multipart_upload=aws.s3.BucketLifecycleConfigurationRuleAbortIncompleteMultipartUploadArgs(
                            days_after_initiation=1
                        ),
                    )
                ],
            ),
            opts=self._child,
        )
        self.log_bucket_policy = aws.s3.BucketPolicy(
            f"{self._name}-alb-logs-policy",
            aws.s3.BucketPolicyArgs(
                bucket=bucket,
                policy=pulumi.Output.all(self.log_bucket.arn, account_id).apply(
                    lambda values: alb_log_bucket_policy(*values)
                ),
            ),
            opts=self._child,
        )

    def _create_load_balancer(self, args: ApiServiceArgs) -> None:
        self.alb = aws.lb.LoadBalancer(
            f"{self._name}-alb",
            aws.lb.LoadBalancerArgs(
                name=physical_name("alb", self._suffix),
                load_balancer_type="application",
                internal=False,
                subnets=list(args.public_subnet_ids),
                security_groups=[self.alb_security_group.id],
                drop_invalid_header_fields=True,
                desync_mitigation_mode="strictest",
                enable_deletion_protection=False,
                access_logs=aws.lb.LoadBalancerAccessLogsArgs(
                    bucket=self.log_bucket.bucket, enabled=True
                ),
                tags=name_tag(physical_name("alb", self._suffix)),
            ),
            opts=pulumi.ResourceOptions(
                parent=self,
                # The ALB checks at creation that it may write to the bucket, and AWS refuses
                # an internet-facing ALB in a VPC with no internet gateway yet.
                depends_on=[self.log_bucket_policy, args.internet_gateway],
            ),
        )
        self.target_group = aws.lb.TargetGroup(
            f"{self._name}-tg",
            aws.lb.TargetGroupArgs(
                name=physical_name("target_group", self._suffix),
                target_type="ip",
                protocol="HTTPS",  # encrypted to the task too; the ALB does not verify it
                port=CONTAINER_PORT,
                vpc_id=args.vpc_id,
                deregistration_delay=DEREGISTRATION_DELAY_SECONDS,
                health_check=aws.lb.TargetGroupHealthCheckArgs(
                    enabled=True,
                    protocol="HTTPS",
                    path="/healthz",
                    port="traffic-port",
                    interval=HEALTH_CHECK_INTERVAL_SECONDS,
                    timeout=5,
                    healthy_threshold=2,
                    unhealthy_threshold=3,
                    matcher="200",
                ),
                tags=name_tag(physical_name("target_group", self._suffix)),
            ),
            opts=self._child,
        )
        self.listener = aws.lb.Listener(
            f"{self._name}-https",
            aws.lb.ListenerArgs(
                load_balancer_arn=self.alb.arn,
                port=HTTPS_PORT,
                protocol="HTTPS",
                ssl_policy=args.settings.tls_policy,
                certificate_arn=args.certificate_arn,
                default_actions=[
                    aws.lb.ListenerDefaultActionArgs(
                        type="forward", target_group_arn=self.target_group.arn
                    )
                ],
                tags=name_tag(physical_name("alb_listener", self._suffix)),
            ),
            opts=self._child,
        )

    # -- ECS --------------------------------------------------------------------------------

    def _create_cluster(self) -> None:
        cluster_name = physical_name("ecs_cluster", self._suffix)
        self._insights_logs = insights_logs = log_group(
            f"{self._name}-container-insights-logs",
            "container_insights_log_group",
            self._suffix,
            kms_key_arn=self._log_kms_key_arn,
            parent=self,
        )
        self.cluster = aws.ecs.Cluster(
            f"{self._name}-cluster",
            aws.ecs.ClusterArgs(
                name=cluster_name,
                settings=[aws.ecs.ClusterSettingArgs(name="containerInsights", value="enabled")],
                tags=name_tag(cluster_name),
            ),
            # Container Insights would otherwise create its log group with no expiry.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[insights_logs]),
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
            parent=self,
        )

    def _create_roles(self, args: ApiServiceArgs) -> None:
        trust = pulumi.Output.from_input(args.account_id).apply(ecs_tasks_trust_policy)
        self.execution_role = aws.iam.Role(
            f"{self._name}-execution-role",
            aws.iam.RoleArgs(
                name=physical_name("task_execution_role", self._suffix),
                description="ECS starts the API tasks: pull the image, write logs, inject "
                "the DB secret",
                assume_role_policy=trust,
                tags=name_tag(physical_name("task_execution_role", self._suffix)),
            ),
            opts=self._child,
        )
        execution_policy_resource = aws.iam.RolePolicy(
            f"{self._name}-execution-policy",
            aws.iam.RolePolicyArgs(
                name=physical_name("task_execution_policy", self._suffix),
                role=self.execution_role.id,
                policy=pulumi.Output.all(
                    args.db_secret_arn,
                    args.db_kms_key_arn,
                    self.log_group.arn,
                    args.ecr_repository_arn,
                ).apply(lambda values: execution_policy(*values)),
            ),
            opts=self._child,
        )
        self.task_role = aws.iam.Role(
            f"{self._name}-task-role",
            aws.iam.RoleArgs(
                name=physical_name("task_role", self._suffix),
                description="The API itself: re-read the DB secret after a rotation",
                assume_role_policy=trust,
                tags=name_tag(physical_name("task_role", self._suffix)),
            ),
            opts=self._child,
        )
        task_policy_resource = aws.iam.RolePolicy(
            f"{self._name}-task-policy",
            aws.iam.RolePolicyArgs(
                name=physical_name("task_policy", self._suffix),
                role=self.task_role.id,
                policy=pulumi.Output.all(args.db_secret_arn, args.db_kms_key_arn).apply(
                    lambda values: policy_document(*read_secret_statements(*values))
                ),
            ),
            opts=self._child,
        )
        # A role's inline policy is a resource of its own: a task started before it exists
        # cannot pull its image or read its secret.
        self.role_policies = [execution_policy_resource, task_policy_resource]

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
                execution_role_arn=self.execution_role.arn,
                task_role_arn=self.task_role.arn,
                # The writable /tmp of a read-only root filesystem: task-local storage.
                volumes=[aws.ecs.TaskDefinitionVolumeArgs(name="tmp")],
                container_definitions=pulumi.Output.all(
                    args.image, self.log_group.name, args.db_secret_arn
                ).apply(
                    lambda values: container_definitions(
                        values[0], values[1], values[2], args.db_secret_keys
                    )
                ),
                tags=name_tag(physical_name("task_family", self._suffix)),
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
                    security_groups=[args.task_security_group_id],
                    assign_public_ip=False,
                ),
                load_balancers=[
                    aws.ecs.ServiceLoadBalancerArgs(
                        target_group_arn=self.target_group.arn,
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
                # The target group must belong to a listener before a service can use it; the
                # first tasks need their roles' policies, the secret's value and a route out.
                depends_on=[
                    self.listener,
                    *self.role_policies,
                    args.db_secret_value,
                    *args.private_egress,
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

    def _create_autoscaling(self) -> None:
        target = aws.appautoscaling.Target(
            f"{self._name}-scaling",
            aws.appautoscaling.TargetArgs(
                service_namespace="ecs",
                scalable_dimension="ecs:service:DesiredCount",
                resource_id=pulumi.Output.all(self.cluster.name, self.service.name).apply(
                    lambda names: f"service/{names[0]}/{names[1]}"
                ),
                min_capacity=MIN_TASKS,
                max_capacity=MAX_TASKS,
                tags=name_tag(physical_name("scaling_target", self._suffix)),
            ),
            opts=self._child,
        )
        for metric, percent, key in (
            ("ECSServiceAverageCPUUtilization", CPU_TARGET_PERCENT, "scaling_policy_cpu"),
            ("ECSServiceAverageMemoryUtilization", MEMORY_TARGET_PERCENT, "scaling_policy_memory"),
        ):
            aws.appautoscaling.Policy(
                f"{self._name}-{key.replace('_', '-')}",
                aws.appautoscaling.PolicyArgs(
                    name=physical_name(key, self._suffix),
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
                opts=self._child,
            )

    def _create_alias_record(self, api_domain_name: str, hosted_zone_id: str) -> None:
        aws.route53.Record(
            f"{self._name}-api-alias",
            aws.route53.RecordArgs(
                zone_id=hosted_zone_id,
                name=api_domain_name,
                type="A",
                aliases=[
                    aws.route53.RecordAliasArgs(
                        name=self.alb.dns_name,
                        zone_id=self.alb.zone_id,
                        evaluate_target_health=True,
                    )
                ],
            ),
            opts=self._child,
        )


def alb_log_bucket_policy(bucket_arn: str, account_id: str) -> str:
    """Only ELB log delivery may write, only under this account's prefix; TLS only."""
    log_objects = f"{bucket_arn}/AWSLogs/{account_id}/*"
    return policy_document(
        {
            "Sid": "ElbAccountWritesAccessLogs",
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:aws:iam::{ELB_LOG_ACCOUNT_US_EAST_1}:root"},
            "Action": ["s3:PutObject"],
            "Resource": [log_objects],
        },
        {
            "Sid": "LogDeliveryWritesAccessLogs",
            "Effect": "Allow",
            "Principal": {"Service": "logdelivery.elasticloadbalancing.amazonaws.com"},
            "Action": ["s3:PutObject"],
            "Resource": [log_objects],
        },
        deny_insecure_transport(bucket_arn),
    )
