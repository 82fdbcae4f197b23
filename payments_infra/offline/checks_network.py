"""Graph-wide checks of the network: zone layout, private placement, losing a zone, what
the Internet may reach, where tasks run.
"""

from __future__ import annotations

from dataclasses import dataclass

from payments_infra.offline.checks_conventions import label
from payments_infra.offline.graph import Graph, Resource


@dataclass(frozen=True)
class SubnetRouting:
    """One subnet with where its default route leads."""

    subnet: Resource
    availability_zone: str
    declared_tier: str
    target_type: str  # "internet_gateway", "nat_gateway", "missing NAT gateway" or "none"
    nat_zone: str | None  # for a NAT target: the zone of the subnet the NAT sits in


def subnet_zone(graph: Graph, subnet: Resource) -> str:
    """The zone a subnet is pinned to, by name: subnets are pinned by zone ID
    (network.py), which the stack's outputs name in the same order as the zones' names; a
    subnet pinned by name, or an ID the stack does not list, is shown as given."""
    names = dict(
        zip(
            graph.stack_outputs.get("availability_zone_ids") or [],
            graph.stack_outputs.get("availability_zones") or [],
            strict=False,
        )
    )
    zone_id = subnet.inputs.get("availabilityZoneId")
    if zone_id:
        return str(names.get(zone_id, zone_id))
    return str(subnet.inputs.get("availabilityZone"))


def subnet_routing(graph: Graph) -> list[SubnetRouting]:
    """Follow each subnet's route-table association to its default route's target."""
    table_of_subnet = {
        a.inputs["subnetId"]: a.inputs["routeTableId"]
        for a in graph.of_type("aws:ec2/routeTableAssociation:RouteTableAssociation")
        if "subnetId" in a.inputs
    }
    default_route = {
        r.inputs["routeTableId"]: r
        for r in graph.of_type("aws:ec2/route:Route")
        if r.inputs.get("destinationCidrBlock") == "0.0.0.0/0"
    }
    by_id = {r.id: r for r in graph if r.custom}
    routing = []
    for subnet in graph.of_type("aws:ec2/subnet:Subnet"):
        route = default_route.get(table_of_subnet.get(subnet.id, ""))
        target, nat_zone = "none", None
        if route is not None and route.inputs.get("gatewayId"):
            target = "internet_gateway"
        elif route is not None and route.inputs.get("natGatewayId"):
            # A route to a NAT gateway that is not in the graph leads nowhere.
            nat = by_id.get(route.inputs["natGatewayId"])
            nat_subnet = by_id.get(nat.inputs.get("subnetId", "")) if nat else None
            target = "nat_gateway" if nat else "missing NAT gateway"
            nat_zone = subnet_zone(graph, nat_subnet) if nat_subnet else None
        routing.append(
            SubnetRouting(
                subnet,
                subnet_zone(graph, subnet),
                subnet.tags.get("Tier", "?"),
                target,
                nat_zone,
            )
        )
    return routing


TIER_TARGET = {"public": "internet_gateway", "private": "nat_gateway"}


def check_zone_layout(graph: Graph, availability_zones: list[str]) -> list[str]:
    """Each zone has one public and one private subnet, and each routes as its tier says."""
    problems = []
    routing = subnet_routing(graph)
    for zone in availability_zones:
        for tier in ("public", "private"):
            found = [s for s in routing if s.availability_zone == zone and s.declared_tier == tier]
            if len(found) != 1:
                problems.append(f"zone {zone} has {len(found)} {tier} subnets; required 1")
    for s in routing:
        if s.availability_zone not in availability_zones:
            problems.append(f"{label(s.subnet)} is in {s.availability_zone}, not a stack zone")
        if TIER_TARGET.get(s.declared_tier) != s.target_type:
            problems.append(
                f"{label(s.subnet)} is tagged {s.declared_tier} but its default route "
                f"goes to {s.target_type}"
            )
    return problems


def check_private_placement(graph: Graph) -> list[str]:
    """Private subnets reach out only through a NAT in their own zone; nothing gets a public IP."""
    problems = []
    public_subnet_ids = {
        s.subnet.id for s in subnet_routing(graph) if s.target_type == "internet_gateway"
    }
    for s in subnet_routing(graph):
        if s.declared_tier == "private" and s.nat_zone != s.availability_zone:
            problems.append(
                f"{label(s.subnet)} (private, {s.availability_zone}) routes to "
                f"{s.target_type} in zone {s.nat_zone}; required a NAT gateway in its own zone"
            )
        if s.subnet.inputs.get("mapPublicIpOnLaunch"):
            problems.append(f"{label(s.subnet)} gives instances public IPs on launch")
    for nat in graph.of_type("aws:ec2/natGateway:NatGateway"):
        if nat.inputs.get("subnetId") not in public_subnet_ids:
            problems.append(f"{label(nat)} is not in a public subnet")
    return problems


def check_zone_loss(graph: Graph, availability_zones: list[str]) -> list[str]:
    """Losing any one zone leaves the others routed and the ALB with public subnets in 2 zones."""
    problems = []
    routing = subnet_routing(graph)
    for lost in availability_zones:
        survivors = [s for s in routing if s.availability_zone != lost]
        for s in survivors:
            if s.declared_tier == "private" and (s.nat_zone in (None, lost)):
                problems.append(
                    f"losing {lost} cuts egress of {label(s.subnet)} "
                    f"(its NAT gateway is in {s.nat_zone})"
                )
        public_zones = {s.availability_zone for s in survivors if s.declared_tier == "public"}
        if len(public_zones) < 2:
            problems.append(
                f"losing {lost} leaves public subnets in {sorted(public_zones)}; an ALB needs 2"
            )
    return problems


def check_no_open_ingress(graph: Graph) -> list[str]:
    """Nothing admits the whole Internet but a load balancer on 443 (PCI DSS 1.3)."""
    load_balancer_groups = {
        group_id
        for alb in graph.of_type("aws:lb/loadBalancer:LoadBalancer")
        for group_id in alb.inputs.get("securityGroups", [])
    }
    problems = []
    for rule in graph.of_type("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"):
        inputs = rule.inputs
        if inputs.get("cidrIpv4") != "0.0.0.0/0" and inputs.get("cidrIpv6") != "::/0":
            continue
        https_to_alb = (
            inputs.get("securityGroupId") in load_balancer_groups
            and inputs.get("ipProtocol") == "tcp"
            and inputs.get("fromPort") == inputs.get("toPort") == 443
        )
        if not https_to_alb:
            problems.append(f"{label(rule)} admits the whole Internet, and not to an ALB on 443")
    for group in graph.of_type("aws:ec2/securityGroup:SecurityGroup"):
        if group.inputs.get("ingress"):
            problems.append(f"{label(group)} has inline ingress rules; use rule resources")
    return problems


def check_tasks_private(graph: Graph) -> list[str]:
    """ECS services run in private subnets with no public IP."""
    private_ids = {s.subnet.id for s in subnet_routing(graph) if s.target_type == "nat_gateway"}
    problems = []
    for service in graph.of_type("aws:ecs/service:Service"):
        network = service.inputs.get("networkConfiguration") or {}
        if network.get("assignPublicIp"):
            problems.append(f"{label(service)} gives its tasks public IPs")
        outside = [i for i in network.get("subnets", []) if i not in private_ids]
        if outside or not network.get("subnets"):
            problems.append(f"{label(service)} runs tasks outside the private subnets: {outside}")
    return problems
