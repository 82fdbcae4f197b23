"""The Network component, read from the recorded graph of the real program."""

from __future__ import annotations

import ipaddress
import json

import pytest

from payments_infra.components.network.network import plan_subnets
from payments_infra.offline.checks_network import subnet_routing, subnet_zone
from payments_infra.offline.graph import Graph, Resource
from tests.stacks import SUFFIX, ZONES

SUBNET = "aws:ec2/subnet:Subnet"
NAT = "aws:ec2/natGateway:NatGateway"
ROUTE = "aws:ec2/route:Route"


def flow_log_group(graph: Graph) -> Resource:
    return only(
        [
            g
            for g in graph.of_type("aws:cloudwatch/logGroup:LogGroup")
            if g.inputs["name"] == f"/aws/vpc/flow-logs-{SUFFIX}"
        ]
    )


def in_network(graph: Graph, type_token: str) -> list[Resource]:
    return [r for r in graph.of_type(type_token) if r.name.startswith("network-")]


def only(resources: list[Resource]) -> Resource:
    assert len(resources) == 1, f"expected exactly one, got {[r.name for r in resources]}"
    return resources[0]


def test_vpc_has_dns_support_and_hostnames(graph: Graph) -> None:
    vpc = only(graph.of_type("aws:ec2/vpc:Vpc"))
    assert vpc.inputs["cidrBlock"] == "10.0.0.0/16"
    assert vpc.inputs["enableDnsSupport"] is True
    assert vpc.inputs["enableDnsHostnames"] is True


def test_one_public_and_one_private_subnet_in_each_of_three_zones(graph: Graph) -> None:
    layout = sorted((subnet_zone(graph, s), s.tags["Tier"]) for s in graph.of_type(SUBNET))
    assert layout == sorted((zone, tier) for zone in ZONES for tier in ("public", "private"))


def test_every_subnet_is_pinned_by_its_zone_id_never_by_name(graph: Graph) -> None:
    # Checkov CKV_AWS_394; the provider refuses both keys at once (ConflictsWith).
    ids = dict(zip(ZONES, graph.stack_outputs["availability_zone_ids"], strict=True))
    assert ids == {"us-east-1a": "use1-az6", "us-east-1b": "use1-az1", "us-east-1c": "use1-az2"}
    for subnet in graph.of_type(SUBNET):
        zone = subnet.tags["Name"].split("-", 2)[2].removesuffix(f"-{SUFFIX}")
        assert "availabilityZone" not in subnet.inputs, subnet.name
        assert subnet.inputs["availabilityZoneId"] == ids[zone], subnet.name


def test_subnet_names_carry_their_zone_and_tier(graph: Graph) -> None:
    for subnet in graph.of_type(SUBNET):
        zone, tier = subnet_zone(graph, subnet), subnet.tags["Tier"]
        assert subnet.tags["Name"] == f"subnet-{tier}-{zone}-{SUFFIX}", subnet.name


def test_subnet_cidrs_lie_inside_the_vpc_and_do_not_overlap(graph: Graph) -> None:
    vpc = ipaddress.IPv4Network(only(graph.of_type("aws:ec2/vpc:Vpc")).inputs["cidrBlock"])
    blocks = [ipaddress.IPv4Network(s.inputs["cidrBlock"]) for s in graph.of_type(SUBNET)]
    assert all(block.subnet_of(vpc) for block in blocks)
    for index, block in enumerate(blocks):
        for other in blocks[index + 1 :]:
            assert not block.overlaps(other), f"{block} overlaps {other}"


def test_no_subnet_hands_out_public_ips(graph: Graph) -> None:
    assert [s.name for s in graph.of_type(SUBNET) if s.inputs.get("mapPublicIpOnLaunch")] == []


def test_each_zone_has_a_nat_gateway_with_its_own_elastic_ip_in_its_public_subnet(
    graph: Graph,
) -> None:
    nats = graph.of_type(NAT)
    assert len(nats) == len(ZONES)
    zones_with_nat = []
    for nat in nats:
        subnet = graph.by_id(nat.inputs["subnetId"])
        eip = graph.by_id(nat.inputs["allocationId"])
        assert subnet.tags["Tier"] == "public", f"{nat.name} sits in {subnet.name}"
        assert eip.type == "aws:ec2/eip:Eip" and eip.inputs["domain"] == "vpc"
        zones_with_nat.append(subnet_zone(graph, subnet))
    assert sorted(zones_with_nat) == ZONES
    assert len({nat.inputs["allocationId"] for nat in nats}) == len(ZONES)


def test_nat_gateways_wait_for_the_internet_gateway(graph: Graph) -> None:
    igw = only(graph.of_type("aws:ec2/internetGateway:InternetGateway"))
    for nat in graph.of_type(NAT):
        assert igw.urn in nat.dependencies, nat.name


def test_public_subnets_route_to_the_internet_gateway(graph: Graph) -> None:
    igw = only(graph.of_type("aws:ec2/internetGateway:InternetGateway"))
    public = [r for r in subnet_routing(graph) if r.declared_tier == "public"]
    assert len(public) == len(ZONES)
    assert all(r.target_type == "internet_gateway" for r in public)
    public_routes = [r for r in graph.of_type(ROUTE) if r.inputs.get("gatewayId")]
    assert [r.inputs["gatewayId"] for r in public_routes] == [igw.id]


def test_each_private_subnet_routes_to_the_nat_gateway_of_its_own_zone(graph: Graph) -> None:
    private = [r for r in subnet_routing(graph) if r.declared_tier == "private"]
    assert len(private) == len(ZONES)
    for routing in private:
        assert routing.target_type == "nat_gateway", routing.subnet.name
        assert routing.nat_zone == routing.availability_zone, routing.subnet.name


def test_four_route_tables_one_public_and_one_private_per_zone(graph: Graph) -> None:
    tables = graph.of_type("aws:ec2/routeTable:RouteTable")
    assert sorted(t.tags["Tier"] for t in tables) == ["private"] * 3 + ["public"]
    associations = graph.of_type("aws:ec2/routeTableAssociation:RouteTableAssociation")
    assert len(associations) == 6
    assert len({a.inputs["subnetId"] for a in associations}) == 6


def test_no_private_route_table_reaches_the_internet_gateway(graph: Graph) -> None:
    private_tables = {
        t.id for t in graph.of_type("aws:ec2/routeTable:RouteTable") if t.tags["Tier"] == "private"
    }
    offenders = [
        r.name
        for r in graph.of_type(ROUTE)
        if r.inputs["routeTableId"] in private_tables and r.inputs.get("gatewayId")
    ]
    assert offenders == []


def test_flow_log_captures_all_traffic_into_a_30_day_log_group(graph: Graph) -> None:
    flow_log = only(graph.of_type("aws:ec2/flowLog:FlowLog"))
    log_group = flow_log_group(graph)
    vpc = only(graph.of_type("aws:ec2/vpc:Vpc"))
    assert flow_log.inputs["trafficType"] == "ALL"
    assert flow_log.inputs["vpcId"] == vpc.id
    assert flow_log.inputs["logDestinationType"] == "cloud-watch-logs"
    assert flow_log.inputs["logDestination"] == log_group.outputs["arn"]
    assert log_group.inputs["retentionInDays"] == 30


def test_flow_log_role_trusts_only_the_flow_log_service_of_this_account(graph: Graph) -> None:
    role = only(in_network(graph, "aws:iam/role:Role"))
    flow_log = only(graph.of_type("aws:ec2/flowLog:FlowLog"))
    assert flow_log.inputs["iamRoleArn"] == role.outputs["arn"]
    (statement,) = json.loads(role.inputs["assumeRolePolicy"])["Statement"]
    assert statement["Principal"] == {"Service": "vpc-flow-logs.amazonaws.com"}
    assert statement["Condition"]["StringEquals"] == {"aws:SourceAccount": "123456789012"}


def test_flow_log_role_may_write_only_to_its_log_group(graph: Graph) -> None:
    policy = only(in_network(graph, "aws:iam/rolePolicy:RolePolicy"))
    log_group_arn = flow_log_group(graph).outputs["arn"]
    (statement,) = json.loads(policy.inputs["policy"])["Statement"]
    assert statement["Resource"] == [log_group_arn, f"{log_group_arn}:*"]
    assert all(action.startswith("logs:") and "*" not in action for action in statement["Action"])


def test_default_security_group_is_adopted_with_no_rules(graph: Graph) -> None:
    default_sg = only(graph.of_type("aws:ec2/defaultSecurityGroup:DefaultSecurityGroup"))
    assert default_sg.inputs.get("ingress", []) == []
    assert default_sg.inputs.get("egress", []) == []


def test_s3_gateway_endpoint_serves_exactly_the_private_route_tables(graph: Graph) -> None:
    endpoint = only(in_network(graph, "aws:ec2/vpcEndpoint:VpcEndpoint"))
    private_tables = sorted(
        t.id for t in graph.of_type("aws:ec2/routeTable:RouteTable") if t.tags["Tier"] == "private"
    )
    assert endpoint.inputs["serviceName"] == "com.amazonaws.us-east-1.s3"
    assert endpoint.inputs["vpcEndpointType"] == "Gateway"
    assert sorted(endpoint.inputs["routeTableIds"]) == private_tables


def test_network_children_are_parented_to_the_network_component(graph: Graph) -> None:
    network = only([r for r in graph if r.type == "payments:network:Network"])
    children = [r for r in graph if r.parent == network.urn]
    assert len(children) >= 34
    assert [r.name for r in children if not r.name.startswith("network-")] == []
    # The network makes no group for any tier: the API tasks' is the API tier's.
    assert [r.name for r in graph if r.name.startswith("network-") and r not in children] == []


def test_stack_exports_the_network_ids(graph: Graph) -> None:
    outputs = graph.stack_outputs
    assert outputs["availability_zones"] == ZONES
    assert len(outputs["public_subnet_ids"]) == 3 and len(outputs["private_subnet_ids"]) == 3
    assert len(outputs["nat_gateway_ids"]) == 3


@pytest.mark.parametrize(
    ("cidr", "private", "public"),
    [
        ("10.0.0.0/16", "/18", "/20"),
        ("172.16.0.0/20", "/22", "/24"),
        ("192.168.4.0/23", "/25", "/27"),
    ],
)
def test_plan_subnets_gives_private_a_quarter_and_public_a_sixteenth(
    cidr: str, private: str, public: str
) -> None:
    plans = plan_subnets(ipaddress.IPv4Network(cidr), ZONES)
    assert [p.cidr_block.endswith(private) for p in plans if p.tier == "private"] == [True] * 3
    assert [p.cidr_block.endswith(public) for p in plans if p.tier == "public"] == [True] * 3
    assert [p.availability_zone for p in plans] == ZONES * 2
