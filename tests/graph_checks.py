"""What the graph-wide checks find in a recorded graph, and how the property tests find the
resource they break on purpose, to prove each check can fail."""

from __future__ import annotations

from payments_infra.offline import checks
from payments_infra.offline.checks_network import subnet_zone
from payments_infra.offline.graph import Graph, Resource
from tests.stacks import SUFFIX, ZONES


def failing(graph: Graph) -> dict[str, list[str]]:
    """Each graph-wide check the graph fails -> its problems."""
    return {r.name: r.problems for r in checks.run_checks(graph, SUFFIX, ZONES) if not r.passed}


def first(graph: Graph, type_token: str, **inputs: object) -> Resource:
    """The first resource of this type whose inputs hold these values."""
    return next(
        r for r in graph.of_type(type_token) if all(r.inputs.get(k) == v for k, v in inputs.items())
    )


def subnet(graph: Graph, tier: str, zone: str) -> Resource:
    """The subnet of this tier (its Tier tag) in this zone."""
    return next(
        s
        for s in graph.of_type("aws:ec2/subnet:Subnet")
        if s.tags["Tier"] == tier and subnet_zone(graph, s) == zone
    )


def move_subnet(graph: Graph, subnet: Resource, zone: str) -> None:
    """Pin ``subnet`` to another of the stack's zones, as a broken program would."""
    ids = dict(
        zip(
            graph.stack_outputs["availability_zones"],
            graph.stack_outputs["availability_zone_ids"],
            strict=True,
        )
    )
    subnet.inputs["availabilityZoneId"] = ids[zone]
