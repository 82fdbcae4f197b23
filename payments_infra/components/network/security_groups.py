"""SecurityGroups component: one empty security group per tier, made before the tiers.

Creates the groups ``alb-sg``, ``api-tasks-sg``, ``db-sg``, and, when those tiers exist, one
``vpce-<service>-sg`` per interface endpoint and ``db-rotation-sg`` (the rotation function),
each ``-{suffix}``, with no rules: the provider removes AWS's allow-all egress rule of a new group
when none is declared, so a group reaches nothing until ``allow`` opens an arrow.

Why apart from the tiers, and first: platform.py opens every arrow of the diagram in one place
(``allow``, security_groups.py), and a tier must wait for the arrows it needs before it starts
(the ECS service for its way in from the ALB, the migrations for their way to the database). The
groups and rules therefore exist before the tiers that use them, and the rules are children of
this component: a preview shows one owner of the whole perimeter.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from payments_infra.aws.security_groups import HTTPS_PORT, Connectable, Peer, allow
from payments_infra.aws.tagging import name_tag
from payments_infra.components.network.endpoints import (
    ENDPOINT_CALLERS,
    ENDPOINT_GROUP_NAMES,
    SERVICES,
    endpoint_label,
)
from payments_infra.config import Ingress
from payments_infra.config.naming import Names, PhysicalName, physical_name


@dataclass(frozen=True, kw_only=True)
class SecurityGroupsArgs:
    """Inputs of the SecurityGroups component."""

    environment_suffix: str
    """Ends every physical name. Required."""
    vpc_id: pulumi.Input[str]
    """The VPC the groups belong to. Required."""
    endpoints: bool
    """Make the interface endpoints' group (payments:vpcEndpoints). Required."""
    rotation: bool
    """Make the password rotation function's group (payments:dbRotationDays > 0). Required."""


class SecurityGroups(pulumi.ComponentResource):
    """The tiers' security groups, empty; ``allow`` in platform.py gives each its rules."""

    def __init__(
        self, name: str, args: SecurityGroupsArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("payments:network:SecurityGroups", name, None, opts)
        self._suffix = args.environment_suffix
        self._vpc_id = args.vpc_id
        self._child = pulumi.ResourceOptions(parent=self)

        self.alb = self._group("alb", Names.alb_security_group, "ALB: HTTPS in, the API tasks out")
        self.api_tasks = self._group(
            "api-tasks",
            Names.task_security_group,
            "API tasks: 8443 from the ALB; out to the database and AWS APIs only",
        )
        self.database = self._group(
            "db", Names.db_security_group, "Aurora PostgreSQL: 5432 from the API and rotation only"
        )
        # One group per endpoint: a client reaches only the AWS APIs it calls.
        self.endpoints: dict[str, Connectable] = {
            service: self._group(
                endpoint_label(service),
                ENDPOINT_GROUP_NAMES[service],
                f"Interface endpoint {service}: 443 from its callers only",
            )
            for service in (SERVICES if args.endpoints else ())
        }
        self.db_rotation = (
            self._group(
                "db-rotation",
                Names.db_rotation_security_group,
                "Password rotation function: out to the database and AWS APIs only",
            )
            if args.rotation
            else None
        )
        self.endpoint_group_ids = {s: g.security_group_id for s, g in self.endpoints.items()}
        self.register_outputs({})

    def _group(self, label: str, name: PhysicalName, description: str) -> Connectable:
        group_name = physical_name(name, self._suffix)
        group = aws.ec2.SecurityGroup(
            f"{label}-sg",
            aws.ec2.SecurityGroupArgs(
                name=group_name,
                description=description,
                vpc_id=self._vpc_id,
                tags=name_tag(group_name),
            ),
            opts=self._child,
        )
        return Connectable(
            label=label, security_group_id=group.id, suffix=self._suffix, opts=self._child
        )


def alb_clients(ingress: Ingress, cloudfront_prefix_list_id: str | None) -> list[Peer]:
    """Who may open HTTPS to the ALB: CloudFront's origin-facing addresses only (ingress
    "cloudfront"), or the whole Internet over IPv4 and IPv6."""
    if ingress == Ingress.CLOUDFRONT:
        if cloudfront_prefix_list_id is None:
            raise ValueError('ingress "cloudfront" needs CloudFront\'s origin-facing prefix list')
        return [Peer(label="cloudfront", prefix_list_id=cloudfront_prefix_list_id)]
    return [
        Peer(label="internet-ipv4", cidr_ipv4="0.0.0.0/0"),
        Peer(label="internet-ipv6", cidr_ipv6="::/0"),
    ]


def to_aws_apis(
    client: Connectable, endpoints: Mapping[str, Connectable], image_layers: Peer | None = None
) -> list[pulumi.Resource]:
    """HTTPS to AWS's APIs: to the VPC endpoints of the services ``client`` calls
    (``ENDPOINT_CALLERS``, by its label), and to ``image_layers`` (S3's prefix list, where ECR
    keeps them, reached through the gateway endpoint) for a client that pulls an image; without
    endpoints, to any address through the NAT gateways."""
    if not endpoints:
        anywhere = Peer(label="internet", cidr_ipv4="0.0.0.0/0")
        return allow(client, anywhere, HTTPS_PORT, "AWS APIs through the NAT gateways")
    return [
        *(
            rule
            for service in ENDPOINT_CALLERS[client.label]
            for rule in allow(client, endpoints[service], HTTPS_PORT, f"{service} by its endpoint")
        ),
        *(
            allow(client, image_layers, HTTPS_PORT, "ECR image layers in S3, by its endpoint")
            if image_layers
            else []
        ),
    ]


def allow_listed(destination: ipaddress.IPv4Network, port: int) -> Peer:
    """An egress allow-list entry as a peer, labelled by address, length and port."""
    label = f"allowed-{destination.network_address}_{destination.prefixlen}-port-{port}"
    return Peer(label=label, cidr_ipv4=str(destination))
