"""VpcEndpoints component: the AWS APIs the tasks and functions call, inside the VPC.

With ``payments:vpcEndpoints`` (the default) the platform builds, in the private subnets:
- one interface endpoint per service of ``SERVICES`` (ECR API, ECR Docker registry,
  CloudWatch Logs, Secrets Manager: each one something in the private subnets calls), one
  network interface per zone, private DNS on,
  so the SDKs' usual names (``secretsmanager.us-east-1.amazonaws.com``) resolve to addresses
  in the VPC and the calls never cross the NAT gateways;
- an endpoint policy on each that lets only principals of this account use it (the AWS data
  perimeter's identity control: credentials of another account are refused here);
- each in a group of its own (SecurityGroups.endpoints), which platform.py opens on 443 to
  the groups of the clients that call that service (``ENDPOINT_CALLERS``) and no other.

The network's S3 gateway endpoint (free, network.py) serves S3, where ECR keeps image layers:
clients reach it through its prefix list. ``endpoints`` lists every endpoint, interface and
gateway: what a task waits for before it starts (a task started before them cannot pull its
image).

Interface endpoints bill per zone-hour and per GB (docs/cost.md); payments:vpcEndpoints=false
leaves them out, and the tasks then reach AWS through the NAT gateways.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from payments_infra.aws.tagging import name_tag
from payments_infra.components.network.endpoint_policies import this_account_only
from payments_infra.config import REQUIRED_REGION
from payments_infra.config.naming import Names, physical_name

# An interface endpoint for each AWS API something in the private subnets calls, and for no
# other (each bills every hour in every zone: docs/cost.md). Who calls each, and where:
# - ecr.api: the Fargate agent, before pulling a task's image: GetAuthorizationToken (the
#   execution roles' "AuthenticateToEcr", api/task_definition.py, execution_policy), for the
#   API's service and its one-off tasks (api/service.py, api/one_off_tasks.py).
# - ecr.dkr: the pull itself, Docker's registry API at the image's *.dkr.ecr name: the
#   manifest and the layers' locations ("PullApiImage": BatchGetImage,
#   GetDownloadUrlForLayer). The layers come from S3, through the gateway endpoint.
# - logs: the awslogs log driver of every task, run by the Fargate agent (task_definition.py,
#   "logConfiguration": PutLogEvents to /ecs/api-{suffix} and the one-off tasks' groups).
# - secretsmanager: the Fargate agent injecting the tasks' secrets (task_definition.py,
#   "secrets"); the API re-reading its login when the database refuses its password
#   (app/api/payments_api/db_credentials.py, SecretsManagerCredentials.fetch); the rotation
#   function, the one Lambda function in the VPC (functions/db_rotation/handler.py,
#   secrets_client: DescribeSecret, Get/PutSecretValue, GetRandomPassword,
#   UpdateSecretVersionStage).
# None for what nothing in the VPC calls (tests/unit/test_endpoint_callers.py pins both lists):
# - kms: no code and no agent in the VPC calls KMS. Secrets Manager decrypts a secret with its
#   key on its own side (the roles' kms:Decrypt holds only with kms:ViaService
#   secretsmanager), and CloudWatch Logs, ECR and RDS use their keys the same way.
# - sts: nothing in the VPC asks STS for credentials. ECS hands a task its role's credentials
#   through the container credentials endpoint (169.254.170.2, AWS_CONTAINER_CREDENTIALS_*)
#   and the Fargate agent the execution role's; Lambda gives the function its role's.
SERVICES = ("ecr.api", "ecr.dkr", "logs", "secretsmanager")
# Which endpoints each client in the VPC calls, by the table above: the ECS tasks (the agent's
# pulls, logs and secrets, the API's own secret reads) all four; the rotation function, the one
# VPC function, Secrets Manager only (Lambda writes its logs outside the function's network).
# Each endpoint's group admits exactly its callers' groups (to_aws_apis; check_endpoint_callers).
TASK_ENDPOINTS = SERVICES
FUNCTION_ENDPOINTS = ("secretsmanager",)
ENDPOINT_CALLERS: dict[str, tuple[str, ...]] = {
    "api-tasks": TASK_ENDPOINTS,
    "db-rotation": FUNCTION_ENDPOINTS,
}


def endpoint_label(service: str) -> str:
    """The label of a service's endpoint group in rule names, e.g. ``vpce-ecr-api``."""
    return f"vpce-{service.replace('.', '-')}"


def endpoint_service_name(service: str) -> str:
    """The endpoint service of ``service`` in the stack's region, e.g.
    ``com.amazonaws.us-east-1.ecr.dkr``."""
    return f"com.amazonaws.{REQUIRED_REGION}.{service}"


# The Name of each endpoint, by service.
ENDPOINT_NAMES = {
    "ecr.api": Names.endpoint_ecr_api,
    "ecr.dkr": Names.endpoint_ecr_dkr,
    "logs": Names.endpoint_logs,
    "secretsmanager": Names.endpoint_secretsmanager,
}
# The security group of each endpoint, by service.
ENDPOINT_GROUP_NAMES = {
    "ecr.api": Names.endpoint_ecr_api_security_group,
    "ecr.dkr": Names.endpoint_ecr_dkr_security_group,
    "logs": Names.endpoint_logs_security_group,
    "secretsmanager": Names.endpoint_secretsmanager_security_group,
}


@dataclass(frozen=True, kw_only=True)
class VpcEndpointsArgs:
    """Inputs of the VpcEndpoints component."""

    environment_suffix: str
    """Ends every physical name. Required."""
    vpc_id: pulumi.Input[str]
    """The VPC. Required."""
    private_subnet_ids: Sequence[pulumi.Input[str]]
    """Where the endpoints' network interfaces go: one per zone. Required."""
    security_group_ids: Mapping[str, pulumi.Input[str]]
    """Each endpoint's own group, by service (SecurityGroups.endpoints). Required."""
    s3_endpoint: aws.ec2.VpcEndpoint
    """The network's S3 gateway endpoint (network.py), listed in ``endpoints``. Required."""
    account_id: pulumi.Input[str]
    """The AWS account whose principals alone may use the endpoints. Required."""


class VpcEndpoints(pulumi.ComponentResource):
    """Interface endpoints for ECR, CloudWatch Logs and Secrets Manager."""

    def __init__(
        self, name: str, args: VpcEndpointsArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("payments:network:VpcEndpoints", name, None, opts)
        if not args.private_subnet_ids:
            raise ValueError("VpcEndpoints needs the private subnets to place its interfaces in")
        self._name = name
        self._suffix = args.environment_suffix
        self._child = pulumi.ResourceOptions(parent=self)

        policy = pulumi.Output.from_input(args.account_id).apply(this_account_only)
        self.interface_endpoints: dict[str, aws.ec2.VpcEndpoint] = {
            service: aws.ec2.VpcEndpoint(
                f"{name}-{service.replace('.', '-')}",
                aws.ec2.VpcEndpointArgs(
                    vpc_id=args.vpc_id,
                    service_name=endpoint_service_name(service),
                    vpc_endpoint_type="Interface",
                    subnet_ids=list(args.private_subnet_ids),
                    security_group_ids=[args.security_group_ids[service]],
                    private_dns_enabled=True,
                    policy=policy,
                    tags=name_tag(physical_name(ENDPOINT_NAMES[service], self._suffix)),
                ),
                opts=self._child,
            )
            for service in SERVICES
        }
        self.endpoint_ids = [endpoint.id for endpoint in self.interface_endpoints.values()]
        self.endpoints: list[pulumi.Resource] = [
            *self.interface_endpoints.values(),
            args.s3_endpoint,
        ]
        self.register_outputs({"endpoint_ids": self.endpoint_ids})
