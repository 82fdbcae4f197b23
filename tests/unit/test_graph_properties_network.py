"""Graph-wide properties of the network, and proof that each check can fail: the zone layout,
private placement, surviving the loss of any one zone, what the Internet may reach, and the
security groups' rules (each made by its group's owner, with its mirror)."""

from __future__ import annotations

import pytest

from payments_infra.offline.checks_network import subnet_routing
from payments_infra.offline.graph import Graph, Resource
from payments_infra.offline.mocks import record_program
from tests.graph_checks import failing, first, move_subnet, subnet
from tests.stacks import VALID_CONFIG, ZONES


def test_a_subnet_moved_to_another_zone_is_caught(graph: Graph) -> None:
    move_subnet(graph, subnet(graph, "public", "us-east-1c"), "us-east-1a")
    assert any("us-east-1c has 0 public subnets" in p for p in failing(graph)["zone layout"])


def test_a_subnet_changing_tier_is_caught(graph: Graph) -> None:
    subnet(graph, "private", "us-east-1a").inputs["tags"]["Tier"] = "public"
    assert "zone layout" in failing(graph)


def test_a_removed_nat_gateway_is_caught(graph: Graph) -> None:
    nat = graph.of_type("aws:ec2/natGateway:NatGateway")[1]
    broken = failing(graph.without(nat.urn))
    assert "private placement" in broken and "survives losing any one zone" in broken


def test_a_nat_gateway_moved_to_another_zones_subnet_is_caught(graph: Graph) -> None:
    nat_a = first(
        graph, "aws:ec2/natGateway:NatGateway", subnetId=subnet(graph, "public", "us-east-1a").id
    )
    nat_a.inputs["subnetId"] = subnet(graph, "public", "us-east-1b").id
    broken = failing(graph)
    assert any("us-east-1a" in p for p in broken["private placement"])
    assert any("losing us-east-1b cuts egress" in p for p in broken["survives losing any one zone"])


def test_a_nat_gateway_in_a_private_subnet_is_caught(graph: Graph) -> None:
    nat = graph.of_type("aws:ec2/natGateway:NatGateway")[0]
    nat.inputs["subnetId"] = subnet(graph, "private", "us-east-1b").id
    assert any("is not in a public subnet" in p for p in failing(graph)["private placement"])


def test_a_private_route_to_the_internet_gateway_is_caught(graph: Graph) -> None:
    igw = graph.of_type("aws:ec2/internetGateway:InternetGateway")[0]
    route = next(r for r in graph.of_type("aws:ec2/route:Route") if r.inputs.get("natGatewayId"))
    del route.inputs["natGatewayId"]
    route.inputs["gatewayId"] = igw.id
    broken = failing(graph)
    assert "private placement" in broken and "zone layout" in broken


def test_a_subnet_handing_out_public_ips_is_caught(graph: Graph) -> None:
    subnet(graph, "public", "us-east-1a").inputs["mapPublicIpOnLaunch"] = True
    assert any("public IPs" in p for p in failing(graph)["private placement"])


@pytest.mark.parametrize("lost", ZONES)
def test_losing_any_one_zone_leaves_the_others_routed_and_two_public_zones(
    graph: Graph, lost: str
) -> None:
    survivors = [s for s in subnet_routing(graph) if s.availability_zone != lost]
    private = [s for s in survivors if s.declared_tier == "private"]
    assert len(private) == 2
    assert all(
        s.target_type == "nat_gateway" and s.nat_zone == s.availability_zone for s in private
    )
    assert len({s.availability_zone for s in survivors if s.declared_tier == "public"}) == 2


def test_public_subnets_in_only_two_zones_fail_the_zone_loss_check(graph: Graph) -> None:
    # With public subnets in a and b only, losing either leaves one zone: an ALB needs two.
    public_c = subnet(graph, "public", "us-east-1c")
    move_subnet(graph, public_c, "us-east-1a")
    assert any("an ALB needs 2" in p for p in failing(graph)["survives losing any one zone"])


def test_internet_ingress_to_anything_but_the_alb_on_443_is_caught(graph: Graph) -> None:
    rule = next(
        r
        for r in graph.of_type("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
        if r.inputs.get("cidrIpv4") == "0.0.0.0/0"
    )
    rule.inputs.update(fromPort=80, toPort=80)
    assert "no ingress from the whole Internet" in failing(graph)


def test_a_description_ec2_would_refuse_is_caught(graph: Graph) -> None:
    first(graph, "aws:ec2/securityGroup:SecurityGroup").inputs["description"] = "CloudFront's"
    assert "security-group descriptions" in failing(graph)


SECURITY_GROUP = "aws:ec2/securityGroup:SecurityGroup"
RULE_TYPES = {
    "ingress": "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
    "egress": "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule",
}


def group_rules(graph: Graph) -> list[tuple[str, Resource]]:
    return [(way, r) for way, token in RULE_TYPES.items() for r in graph.of_type(token)]


def test_every_rule_belongs_to_the_component_that_owns_its_group(graph: Graph) -> None:
    owner = {g.id: g.parent for g in graph.of_type(SECURITY_GROUP)}
    strays = [
        rule.name
        for _, rule in group_rules(graph)
        if rule.parent != owner[rule.inputs["securityGroupId"]]
    ]
    assert strays == [], "rules made by a component that does not own their group"


@pytest.mark.parametrize("overrides", [{}, {"payments:dbRotationDays": "30"}])
def test_every_rule_between_groups_comes_with_its_mirror(overrides: dict[str, str]) -> None:
    # allow() makes both halves: egress from one group, ingress into the other, same port.
    graph = record_program({**VALID_CONFIG, **overrides}, stack="test")
    halves = {
        (
            way,
            rule.inputs["securityGroupId"],
            rule.inputs["referencedSecurityGroupId"],
            rule.inputs["fromPort"],
        )
        for way, rule in group_rules(graph)
        if "referencedSecurityGroupId" in rule.inputs
    }
    mirror = {"ingress": "egress", "egress": "ingress"}
    lonely = [h for h in halves if (mirror[h[0]], h[2], h[1], h[3]) not in halves]
    assert len(halves) >= 4 and lonely == []
