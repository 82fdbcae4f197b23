"""VpcEndpoints component: the AWS APIs the tasks and functions call, inside the VPC.

With ``payments:vpcEndpoints`` (the default) the platform builds, in the private subnets:
- one interface endpoint per service of ``SERVICES`` (ECR API, ECR Docker registry,
  CloudWatch Logs, Secrets Manager, KMS, STS), one network interface per zone, private DNS on,
  so the SDKs' usual names (``secretsmanager.us-east-1.amazonaws.com``) resolve to addresses
  in the VPC and the calls never cross the NAT gateways;
- an endpoint policy on each that lets only principals of this account use it (the AWS data
  perimeter's identity control: credentials of another account are refused here);
- the security group ``vpce-sg-{suffix}``: no rule of its own; 443 only from the groups that
  are let in with ``allow`` (the API tasks: service.py).

The network's S3 gateway endpoint (free, network.py) serves S3, where ECR keeps image layers:
clients reach it through its prefix list. ``private_apis`` hands a client all three: the group
to allow, the prefix list, and the endpoints to wait for before a task starts.

Interface endpoints bill per zone-hour and per GB (docs/cost.md); payments:vpcEndpoints=false
leaves them out, and the tasks then reach AWS through the NAT gateways.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from payments_infra.aws.naming import physical_name
from payments_infra.aws.policies import policy_document
from payments_infra.aws.security_groups import Connectable
from payments_infra.aws.tagging import name_tag
from payments_infra.config import REQUIRED_REGION

# What the API tasks and the functions call, by endpoint service: ECR's API (authentication,
# manifests) and its Docker registry, CloudWatch Logs (the awslogs driver), Secrets Manager
# (the task's secret, rotation), KMS and STS (the SDKs' credential and key calls).
SERVICES = ("ecr.api", "ecr.dkr", "logs", "secretsmanager", "kms", "sts")


def endpoint_service_name(service: str) -> str:
    """The endpoint service of ``service`` in the stack's region, e.g.
    ``com.amazonaws.us-east-1.ecr.dkr``."""
    return f"com.amazonaws.{REQUIRED_REGION}.{service}"


def endpoint_name_key(service: str) -> str:
    """The naming.py catalogue entry of the endpoint of ``service``, e.g. ``endpoint_ecr_dkr``."""
    return f"endpoint_{service.replace('.', '_')}"


def this_account_only(account_id: str) -> str:
    """An endpoint policy: any call, but only by principals of ``account_id``.

    A perimeter, not a grant: IAM policies still decide what each principal may do. It keeps
    credentials of another account (an attacker's) from using the VPC's way to AWS.
    """
    return policy_document(
        {
            "Sid": "OnlyThisAccountsPrincipals",
            "Effect": "Allow",
            "Principal": "*",
            "Action": "*",
            "Resource": "*",
            "Condition": {"StringEquals": {"aws:PrincipalAccount": account_id}},
        }
    )


@dataclass(frozen=True)
class PrivateApis:
    """What a client needs to reach AWS inside the VPC (ApiServiceArgs.private_apis)."""

    connections: Connectable
    """The interface endpoints' security group, for ``allow`` on 443."""
    s3_prefix_list_id: pulumi.Input[str]
    """The S3 gateway endpoint's prefix list, for an egress rule on 443."""
    endpoints: Sequence[pulumi.Resource]
    """Every endpoint, interface and gateway: a task started before them cannot pull its image."""


@dataclass(frozen=True, kw_only=True)
class VpcEndpointsArgs:
    """Inputs of the VpcEndpoints component."""

    environment_suffix: str
    """Ends every physical name. Required."""
    vpc_id: pulumi.Input[str]
    """The VPC. Required."""
    private_subnet_ids: Sequence[pulumi.Input[str]]
    """Where the endpoints' network interfaces go: one per zone. Required."""
    s3_endpoint: aws.ec2.VpcEndpoint
    """The network's S3 gateway endpoint (network.py), handed on to clients. Required."""
    account_id: pulumi.Input[str]
    """The AWS account whose principals alone may use the endpoints. Required."""


class VpcEndpoints(pulumi.ComponentResource):
    """Interface endpoints for ECR, CloudWatch Logs, Secrets Manager, KMS and STS."""

    def __init__(
        self, name: str, args: VpcEndpointsArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("payments:endpoints:VpcEndpoints", name, None, opts)
        if not args.private_subnet_ids:
            raise ValueError("VpcEndpoints needs the private subnets to place its interfaces in")
        self._name = name
        self._suffix = args.environment_suffix
        self._child = pulumi.ResourceOptions(parent=self)

        group_name = physical_name("endpoint_security_group", self._suffix)
        # No rules of its own (the provider removes AWS's allow-all egress; the endpoints start
        # no connections): ``allow`` lets each client in on 443.
        self.security_group = aws.ec2.SecurityGroup(
            f"{name}-sg",
            aws.ec2.SecurityGroupArgs(
                name=group_name,
                description="Interface VPC endpoints: 443 from the groups let in only",
                vpc_id=args.vpc_id,
                tags=name_tag(group_name),
            ),
            opts=self._child,
        )
        self.security_group_id = self.security_group.id
        self.connections = Connectable(
            self.security_group.id, self._name, self._suffix, self._child
        )

        policy = pulumi.Output.from_input(args.account_id).apply(this_account_only)
        self.interface_endpoints: dict[str, aws.ec2.VpcEndpoint] = {
            service: aws.ec2.VpcEndpoint(
                f"{name}-{service.replace('.', '-')}",
                aws.ec2.VpcEndpointArgs(
                    vpc_id=args.vpc_id,
                    service_name=endpoint_service_name(service),
                    vpc_endpoint_type="Interface",
                    subnet_ids=list(args.private_subnet_ids),
                    security_group_ids=[self.security_group.id],
                    private_dns_enabled=True,
                    policy=policy,
                    tags=name_tag(physical_name(endpoint_name_key(service), self._suffix)),
                ),
                opts=self._child,
            )
            for service in SERVICES
        }
        self.endpoint_ids = [endpoint.id for endpoint in self.interface_endpoints.values()]
        self.private_apis = PrivateApis(
            connections=self.connections,
            s3_prefix_list_id=args.s3_endpoint.prefix_list_id,
            endpoints=[*self.interface_endpoints.values(), args.s3_endpoint],
        )
        self.register_outputs(
            {"security_group_id": self.security_group_id, "endpoint_ids": self.endpoint_ids}
        )
