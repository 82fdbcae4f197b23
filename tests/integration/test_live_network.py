"""The deployed network, checked against AWS itself."""

from __future__ import annotations

from typing import Any

import pytest


def test_vpc_exists_with_dns_enabled(ec2: Any, stack_outputs: dict[str, Any]) -> None:
    vpc_id = stack_outputs["vpc_id"]
    (vpc,) = ec2.describe_vpcs(VpcIds=[vpc_id])["Vpcs"]
    assert vpc["State"] == "available"
    for attribute in ("enableDnsSupport", "enableDnsHostnames"):
        answer = ec2.describe_vpc_attribute(VpcId=vpc_id, Attribute=attribute)
        assert answer[attribute[0].upper() + attribute[1:]]["Value"] is True


def test_the_zone_ids_output_names_the_zones_the_subnets_are_in(
    ec2: Any, stack_outputs: dict[str, Any]
) -> None:
    """Zone IDs as this account maps its zone names."""
    ids = stack_outputs["public_subnet_ids"] + stack_outputs["private_subnet_ids"]
    subnets = ec2.describe_subnets(SubnetIds=ids)["Subnets"]
    by_name = {s["AvailabilityZone"]: s["AvailabilityZoneId"] for s in subnets}
    zone_ids = [by_name[name] for name in stack_outputs["availability_zones"]]
    assert zone_ids == stack_outputs["availability_zone_ids"]


def test_six_subnets_over_three_zones(ec2: Any, stack_outputs: dict[str, Any]) -> None:
    ids = stack_outputs["public_subnet_ids"] + stack_outputs["private_subnet_ids"]
    subnets = ec2.describe_subnets(SubnetIds=ids)["Subnets"]
    assert len(subnets) == 6
    assert len({s["AvailabilityZone"] for s in subnets}) == 3
    assert not any(s["MapPublicIpOnLaunch"] for s in subnets)


def test_three_available_nat_gateways_one_per_zone_in_public_subnets(
    ec2: Any, stack_outputs: dict[str, Any]
) -> None:
    nats = ec2.describe_nat_gateways(NatGatewayIds=stack_outputs["nat_gateway_ids"])["NatGateways"]
    assert [n["State"] for n in nats] == ["available"] * 3
    assert {n["SubnetId"] for n in nats} == set(stack_outputs["public_subnet_ids"])


def test_each_private_subnet_routes_through_the_nat_in_its_zone(
    ec2: Any, stack_outputs: dict[str, Any]
) -> None:
    nats = ec2.describe_nat_gateways(NatGatewayIds=stack_outputs["nat_gateway_ids"])["NatGateways"]
    subnets = {
        s["SubnetId"]: s["AvailabilityZone"]
        for s in ec2.describe_subnets(
            SubnetIds=stack_outputs["public_subnet_ids"] + stack_outputs["private_subnet_ids"]
        )["Subnets"]
    }
    nat_zone = {n["NatGatewayId"]: subnets[n["SubnetId"]] for n in nats}
    for subnet_id in stack_outputs["private_subnet_ids"]:
        (table,) = ec2.describe_route_tables(
            Filters=[{"Name": "association.subnet-id", "Values": [subnet_id]}]
        )["RouteTables"]
        default = next(r for r in table["Routes"] if r.get("DestinationCidrBlock") == "0.0.0.0/0")
        assert nat_zone[default["NatGatewayId"]] == subnets[subnet_id]


def test_flow_log_group_keeps_30_days_and_receives_events(
    logs: Any, stack_outputs: dict[str, Any]
) -> None:
    name = stack_outputs["flow_log_group_name"]
    (group,) = [
        g
        for g in logs.describe_log_groups(logGroupNamePrefix=name)["logGroups"]
        if g["logGroupName"] == name
    ]
    assert group["retentionInDays"] == 30
    streams = logs.describe_log_streams(logGroupName=name, limit=1)["logStreams"]
    assert streams, f"{name} has no log streams yet: flow logs arrive within about 10 minutes"


ENDPOINT_SERVICES = {
    f"com.amazonaws.us-east-1.{service}"
    for service in ("ecr.api", "ecr.dkr", "logs", "secretsmanager")
}


def interface_endpoints(ec2: Any, vpc_id: str) -> list[dict[str, Any]]:
    return list(
        ec2.describe_vpc_endpoints(
            Filters=[
                {"Name": "vpc-id", "Values": [vpc_id]},
                {"Name": "vpc-endpoint-type", "Values": ["Interface"]},
            ]
        )["VpcEndpoints"]
    )


def test_interface_endpoints_are_available_with_private_dns_in_every_private_subnet(
    ec2: Any, stack_outputs: dict[str, Any]
) -> None:
    endpoints = interface_endpoints(ec2, stack_outputs["vpc_id"])
    if not endpoints:
        pytest.skip("the stack has no interface endpoints (payments:vpcEndpoints: false)")
    assert {e["ServiceName"] for e in endpoints} == ENDPOINT_SERVICES
    for endpoint in endpoints:
        assert endpoint["State"] == "available", endpoint["ServiceName"]
        assert endpoint["PrivateDnsEnabled"] is True, endpoint["ServiceName"]
        assert set(endpoint["SubnetIds"]) == set(stack_outputs["private_subnet_ids"])


def test_with_endpoints_the_tasks_send_nothing_to_the_whole_internet(
    ec2: Any, ecs: Any, stack_outputs: dict[str, Any]
) -> None:
    if not interface_endpoints(ec2, stack_outputs["vpc_id"]):
        pytest.skip("the stack has no interface endpoints (payments:vpcEndpoints: false)")
    (service,) = ecs.describe_services(
        cluster=stack_outputs["ecs_cluster_name"], services=[stack_outputs["ecs_service_name"]]
    )["services"]
    groups = service["networkConfiguration"]["awsvpcConfiguration"]["securityGroups"]
    rules = ec2.describe_security_group_rules(Filters=[{"Name": "group-id", "Values": groups}])[
        "SecurityGroupRules"
    ]
    egress = [r for r in rules if r["IsEgress"]]
    assert egress, "the tasks' group has no egress rule at all"
    everywhere = [
        r for r in egress if r.get("CidrIpv4") == "0.0.0.0/0" or r.get("CidrIpv6") == "::/0"
    ]
    assert everywhere == [], f"egress to the whole Internet: {everywhere}"
