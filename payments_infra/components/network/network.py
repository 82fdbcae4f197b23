"""Network component: the VPC every other tier stands on.

Creates, in three availability zones:
- a VPC with DNS support and DNS hostnames;
- a public and a private subnet per zone, CIDRs computed by ``plan_subnets``;
- an internet gateway and one public route table (default route to it) for the public subnets;
- a NAT gateway with its Elastic IP in each zone's public subnet, and one private route table
  per zone whose default route goes to the NAT gateway of the same zone, so losing a zone
  never cuts the other zones' egress;
- VPC flow logs (all traffic) to a CloudWatch log group with 30-day retention, and the IAM
  role the flow-log service writes with;
- the VPC's default security group, adopted and stripped of every rule;
- an S3 gateway endpoint on the private route tables (free; keeps ECR image-layer pulls,
  which come from S3, off the NAT gateways).

It exposes one alarm per NAT gateway (out of ports) for Observability. It makes no security
group for any tier: each tier owns its groups, and platform.py wires who reaches whom.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from payments_infra.aws.logs import log_group
from payments_infra.aws.monitoring import AlarmSpec, DashboardWidget
from payments_infra.aws.options import after
from payments_infra.aws.policies import policy_document
from payments_infra.aws.service_roles import service_role
from payments_infra.aws.tagging import name_tag
from payments_infra.components.network.endpoint_policies import s3_gateway_policy
from payments_infra.config import REQUIRED_REGION
from payments_infra.config.naming import Names, PerAzNames, per_az_name, physical_name

# Part of the URN of every resource below it (and of the API tasks' group it once made).
NETWORK_TYPE = "payments:network:Network"

SUBNET_NAMES = {"public": PerAzNames.public_subnet, "private": PerAzNames.private_subnet}


@dataclass(frozen=True)
class SubnetPlan:
    """Where one subnet goes: its zone, tier and CIDR block."""

    availability_zone: str
    tier: str  # "public" or "private"
    cidr_block: str


def plan_subnets(
    vpc_cidr: ipaddress.IPv4Network, availability_zones: Sequence[str]
) -> list[SubnetPlan]:
    """Split the VPC into one private and one public subnet per zone.

    Private subnets, where the tasks and the database live and which need the addresses,
    take the first three quarters of the VPC (/18 each in a /16). The last quarter is cut
    into sixteenths of the VPC (/20 each in a /16) for the public subnets, which hold only
    the ALB and NAT gateways; the rest of that quarter stays free for later use.
    """
    if len(availability_zones) > 3:
        raise ValueError(f"plan_subnets lays out at most 3 zones; got {list(availability_zones)}")
    quarters = list(vpc_cidr.subnets(prefixlen_diff=2))
    public_blocks = list(quarters[3].subnets(prefixlen_diff=2))
    plans = [
        SubnetPlan(zone, "private", str(quarters[index]))
        for index, zone in enumerate(availability_zones)
    ]
    plans += [
        SubnetPlan(zone, "public", str(public_blocks[index]))
        for index, zone in enumerate(availability_zones)
    ]
    return plans


@dataclass(frozen=True, kw_only=True)
class NetworkArgs:
    """Inputs of the Network component."""

    environment_suffix: str
    """Ends every physical name. Required."""
    vpc_cidr: ipaddress.IPv4Network
    """The VPC's address range, already validated by StackConfig. Required."""
    availability_zones: Sequence[str]
    """The zones to build in, one public and one private subnet each. Required."""
    availability_zone_ids: Sequence[str]
    """Their zone IDs, in the same order: what each subnet is pinned to. Required."""
    account_id: pulumi.Input[str]
    """The AWS account, for the flow-log role's confused-deputy conditions. Required."""
    log_kms_key_arn: pulumi.Input[str]
    """The key every log group of the tier is encrypted with (keys.LogsKey). Required."""


class Network(pulumi.ComponentResource):
    """VPC, subnets, gateways, routes, flow logs and endpoints over three zones."""

    def __init__(
        self, name: str, args: NetworkArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(NETWORK_TYPE, name, None, opts)
        self._name = name
        self._suffix = args.environment_suffix
        self._log_kms_key_arn = args.log_kms_key_arn
        self._child = pulumi.ResourceOptions(parent=self)
        self.availability_zones = list(args.availability_zones)
        if len(args.availability_zone_ids) != len(self.availability_zones):
            raise ValueError(
                f"Network needs one zone ID per zone; got {list(args.availability_zone_ids)} "
                f"for {self.availability_zones}"
            )
        self._zone_ids = dict(zip(self.availability_zones, args.availability_zone_ids, strict=True))

        self.vpc = aws.ec2.Vpc(
            f"{name}-vpc",
            aws.ec2.VpcArgs(
                cidr_block=str(args.vpc_cidr),
                enable_dns_support=True,
                enable_dns_hostnames=True,
                tags=name_tag(physical_name(Names.vpc, self._suffix)),
            ),
            opts=self._child,
        )
        self.vpc_id = self.vpc.id

        self._create_subnets(plan_subnets(args.vpc_cidr, self.availability_zones))
        self._create_public_routing()
        self._create_nat_routing()
        self._create_flow_logs(args.account_id)
        self._lock_default_security_group()
        self._create_s3_endpoint(args.account_id)

        self.public_subnet_ids = [subnet.id for subnet in self.public_subnets.values()]
        self.private_subnet_ids = [subnet.id for subnet in self.private_subnets.values()]
        self.nat_gateway_ids = [nat.id for nat in self.nat_gateways.values()]
        self.private_route_table_ids = [rt.id for rt in self.private_route_tables.values()]
        self.log_groups = [self.flow_log_group]
        self.alarms = nat_alarms(self.nat_gateways, self._suffix)
        self.dashboard_widgets: list[DashboardWidget] = []
        self.register_outputs(
            {
                "vpc_id": self.vpc_id,
                "public_subnet_ids": self.public_subnet_ids,
                "private_subnet_ids": self.private_subnet_ids,
                "nat_gateway_ids": self.nat_gateway_ids,
                "private_route_table_ids": self.private_route_table_ids,
                "flow_log_group_name": self.flow_log_group.name,
            }
        )

    def _create_subnets(self, plans: list[SubnetPlan]) -> None:
        self.public_subnets: dict[str, aws.ec2.Subnet] = {}
        self.private_subnets: dict[str, aws.ec2.Subnet] = {}
        for plan in plans:
            subnet = aws.ec2.Subnet(
                f"{self._name}-{plan.tier}-{plan.availability_zone}",
                aws.ec2.SubnetArgs(
                    vpc_id=self.vpc.id,
                    # By zone ID, not name (Checkov CKV_AWS_394): a name maps to a different
                    # physical zone in each account, an ID to the same one everywhere. EC2's
                    # CreateSubnet takes either; the provider refuses both at once.
                    availability_zone_id=self._zone_ids[plan.availability_zone],
                    cidr_block=plan.cidr_block,
                    # Nothing here gets a public IP by accident, not even in the public
                    # subnets: the ALB and the NAT gateways bring their own addresses.
                    map_public_ip_on_launch=False,
                    tags=name_tag(
                        per_az_name(SUBNET_NAMES[plan.tier], plan.availability_zone, self._suffix),
                        Tier=plan.tier,
                    ),
                ),
                opts=self._child,
            )
            tier = self.public_subnets if plan.tier == "public" else self.private_subnets
            tier[plan.availability_zone] = subnet

    def _create_public_routing(self) -> None:
        self.internet_gateway = aws.ec2.InternetGateway(
            f"{self._name}-igw",
            aws.ec2.InternetGatewayArgs(
                vpc_id=self.vpc.id,
                tags=name_tag(physical_name(Names.internet_gateway, self._suffix)),
            ),
            opts=self._child,
        )
        self.public_route_table = aws.ec2.RouteTable(
            f"{self._name}-public-rt",
            aws.ec2.RouteTableArgs(
                vpc_id=self.vpc.id,
                tags=name_tag(physical_name(Names.public_route_table, self._suffix), Tier="public"),
            ),
            opts=self._child,
        )
        aws.ec2.Route(
            f"{self._name}-public-default-route",
            aws.ec2.RouteArgs(
                route_table_id=self.public_route_table.id,
                destination_cidr_block="0.0.0.0/0",
                gateway_id=self.internet_gateway.id,
            ),
            opts=self._child,
        )
        for zone, subnet in self.public_subnets.items():
            aws.ec2.RouteTableAssociation(
                f"{self._name}-public-rta-{zone}",
                aws.ec2.RouteTableAssociationArgs(
                    subnet_id=subnet.id, route_table_id=self.public_route_table.id
                ),
                opts=self._child,
            )

    def _create_nat_routing(self) -> None:
        self.nat_gateways: dict[str, aws.ec2.NatGateway] = {}
        self.private_route_tables: dict[str, aws.ec2.RouteTable] = {}
        # Each private subnet's way out (its default route and its association): what a task
        # needs before it can pull its image or read its secret.
        self.private_egress: list[pulumi.Resource] = []
        for zone, private_subnet in self.private_subnets.items():
            eip = aws.ec2.Eip(
                f"{self._name}-nat-eip-{zone}",
                aws.ec2.EipArgs(
                    domain="vpc", tags=name_tag(per_az_name(PerAzNames.nat_eip, zone, self._suffix))
                ),
                opts=self._child,
            )
            nat = aws.ec2.NatGateway(
                f"{self._name}-nat-{zone}",
                aws.ec2.NatGatewayArgs(
                    allocation_id=eip.id,
                    subnet_id=self.public_subnets[zone].id,
                    connectivity_type="public",
                    tags=name_tag(per_az_name(PerAzNames.nat_gateway, zone, self._suffix)),
                ),
                # A NAT gateway created before the internet gateway is attached comes up
                # unable to reach the Internet (AWS's NAT gateway docs).
                opts=after(self._child, self.internet_gateway),
            )
            route_table = aws.ec2.RouteTable(
                f"{self._name}-private-rt-{zone}",
                aws.ec2.RouteTableArgs(
                    vpc_id=self.vpc.id,
                    tags=name_tag(
                        per_az_name(PerAzNames.private_route_table, zone, self._suffix),
                        Tier="private",
                    ),
                ),
                opts=self._child,
            )
            default_route = aws.ec2.Route(
                f"{self._name}-private-default-route-{zone}",
                aws.ec2.RouteArgs(
                    route_table_id=route_table.id,
                    destination_cidr_block="0.0.0.0/0",
                    nat_gateway_id=nat.id,
                ),
                opts=self._child,
            )
            association = aws.ec2.RouteTableAssociation(
                f"{self._name}-private-rta-{zone}",
                aws.ec2.RouteTableAssociationArgs(
                    subnet_id=private_subnet.id, route_table_id=route_table.id
                ),
                opts=self._child,
            )
            self.private_egress += [default_route, association]
            self.nat_gateways[zone] = nat
            self.private_route_tables[zone] = route_table

    def _create_flow_logs(self, account_id: pulumi.Input[str]) -> None:
        self.flow_log_group = log_group(
            f"{self._name}-flow-logs",
            Names.flow_log_group,
            self._suffix,
            kms_key_arn=self._log_kms_key_arn,
            opts=self._child,
        )
        role = service_role(
            f"{self._name}-flow-logs",
            Names.flow_log_role,
            Names.flow_log_policy,
            service="vpc-flow-logs.amazonaws.com",
            description="Lets VPC flow logs write to their one log group.",
            account_id=account_id,
            # The confused-deputy conditions of AWS's flow-log IAM documentation.
            source_arn=lambda account: f"arn:aws:ec2:{REQUIRED_REGION}:{account}:vpc-flow-log/*",
            policy=self.flow_log_group.arn.apply(
                lambda arn: policy_document(
                    {
                        "Effect": "Allow",
                        "Action": [
                            "logs:CreateLogStream",
                            "logs:PutLogEvents",
                            "logs:DescribeLogStreams",
                        ],
                        "Resource": [arn, f"{arn}:*"],
                    }
                )
            ),
            suffix=self._suffix,
            opts=self._child,
        )
        self.flow_log = aws.ec2.FlowLog(
            f"{self._name}-flow-log",
            aws.ec2.FlowLogArgs(
                vpc_id=self.vpc.id,
                traffic_type="ALL",
                log_destination_type="cloud-watch-logs",
                log_destination=self.flow_log_group.arn,
                iam_role_arn=role.role.arn,
                # One-minute aggregation instead of the default ten: faster evidence when
                # investigating an incident, at the same price per GB.
                max_aggregation_interval=60,
                tags=name_tag(physical_name(Names.flow_log, self._suffix)),
            ),
            # EC2 checks at creation that the role may write to the group: the policy first.
            opts=after(self._child, role.policy),
        )

    def _lock_default_security_group(self) -> None:
        # Adopting the default group with no ingress or egress removes AWS's allow-all rules,
        # so nothing placed in it by mistake can talk (CIS AWS 5.4, PCI DSS 1.2/1.3).
        self.default_security_group = aws.ec2.DefaultSecurityGroup(
            f"{self._name}-default-sg",
            aws.ec2.DefaultSecurityGroupArgs(
                vpc_id=self.vpc.id,
                ingress=[],
                egress=[],
                tags=name_tag(physical_name(Names.default_security_group, self._suffix)),
            ),
            opts=self._child,
        )

    def _create_s3_endpoint(self, account_id: pulumi.Input[str]) -> None:
        self.s3_endpoint = aws.ec2.VpcEndpoint(
            f"{self._name}-s3-endpoint",
            aws.ec2.VpcEndpointArgs(
                vpc_id=self.vpc.id,
                service_name=f"com.amazonaws.{REQUIRED_REGION}.s3",
                vpc_endpoint_type="Gateway",
                route_table_ids=[rt.id for rt in self.private_route_tables.values()],
                # Without a policy a gateway endpoint lets anything through (endpoint_policies).
                policy=pulumi.Output.from_input(account_id).apply(s3_gateway_policy),
                tags=name_tag(physical_name(Names.s3_endpoint, self._suffix)),
            ),
            opts=self._child,
        )


def nat_alarms(nat_gateways: dict[str, aws.ec2.NatGateway], suffix: str) -> list[AlarmSpec]:
    """One alarm per zone's NAT gateway running out of ports."""
    return [
        AlarmSpec(
            name=per_az_name(PerAzNames.alarm_nat_ports, zone, suffix),
            namespace="AWS/NATGateway",
            metric="ErrorPortAllocation",
            dimensions={"NatGatewayId": nat.id},
            comparison="GreaterThanThreshold",
            threshold=0,
            why=f"The NAT gateway in {zone} ran out of ports: tasks there cannot reach AWS APIs.",
            action=f"Flow logs {physical_name(Names.flow_log_group, suffix)}: the destination the "
            "zone's tasks hold most connections to; AWS APIs: turn payments:vpcEndpoints on and "
            "make up; an allow-list destination: fewer, longer-lived connections to it.",
        )
        for zone, nat in nat_gateways.items()
    ]
