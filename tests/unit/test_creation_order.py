"""Creation orders AWS needs but no input expresses: each is present, and each can fail."""

from __future__ import annotations

import pytest

from payments_infra.offline import creation_order
from payments_infra.offline.creation_order import ORDERS, CreationOrder, check_creation_order
from payments_infra.offline.graph import Graph, Resource

# (order, waiter logical name, prerequisite logical names it must wait for)
ENDPOINTS = ("ecr-api", "ecr-dkr", "logs", "secretsmanager")
EXPECTED = {
    "internet-facing ALB after the internet gateway": ("alb", {"network-igw"}),
    # The API's login: the service's tasks get the app secret only.
    "ECS service after its secret's value": ("api-service", {"database-app-credentials-value"}),
    "ECS service after its roles' policies": (
        "api-service",
        {"api-execution-policy", "api-task-policy"},
    ),
    "ECS service after the private default routes": (
        "api-service",
        {f"network-private-default-route-us-east-1{z}" for z in "abc"}
        | {f"network-private-rta-us-east-1{z}" for z in "abc"},
    ),
    "ECS service after the VPC endpoints and the rules to them": (
        "api-service",
        {
            "endpoints-ecr-api",
            "endpoints-ecr-dkr",
            "endpoints-logs",
            "endpoints-secretsmanager",
            "network-s3-endpoint",
            "api-tasks-to-s3-egress",
            # Each endpoint's own group, both halves of the arrow to it.
            *(f"api-tasks-to-vpce-{e}-{half}" for e in ENDPOINTS for half in ("egress", "ingress")),
        },
    ),
    "ECS service after what forwards to its target group": ("api-service", {"alb-rule-api-paths"}),
    "Aurora reader after the writer": ("database-reader", {"database-writer"}),
    "flow log after its role's policy": ("network-flow-log", {"network-flow-logs-policy"}),
    "function in a VPC after its role's policy": (
        "db-rotation-function",
        {"db-rotation-policy"},
    ),
    "ECS service after the migrations": ("api-service", {"api-migrations-run"}),
    "migrations after the database, their secrets' values and their role's policy": (
        "api-migrations-run",
        {
            "database-writer",
            "database-master-credentials-value",
            "database-app-credentials-value",
            "database-keys-credentials-value",
            "api-migrations-execution-policy",
        },
    ),
    "a login's secret rotation after the migrations": (
        "db-rotation-app",
        {"api-migrations-run"},
    ),
    # A login's: its function is invoked for the master's secret too (masterarn).
    "secret rotation after its value, its function's policy and invoke permission": (
        "db-rotation-app",
        {
            "database-app-credentials-value",
            "db-rotation-policy",
            "db-rotation-invoked-for-master",
            "db-rotation-invoked-for-app",
            "db-rotation-invoked-for-keys",
        },
    ),
}


def by_name(graph: Graph, name: str) -> Resource:
    """The AWS resource of this logical name (a component may share it: ``alb``)."""
    (resource,) = [r for r in graph if r.name == name and not r.type.startswith("payments:")]
    return resource


def cut(graph: Graph, prerequisite: Resource) -> None:
    """Make nothing in the graph wait for ``prerequisite`` (a forgotten depends_on)."""
    for resource in graph:
        resource.dependencies = [d for d in resource.dependencies if d != prerequisite.urn]


def test_every_order_is_named_and_expected() -> None:
    assert {order.name for order in ORDERS} == set(EXPECTED)


@pytest.mark.parametrize("order", ORDERS, ids=lambda order: order.name)
def test_each_order_finds_its_prerequisites_in_the_real_program(
    graph: Graph, order: CreationOrder
) -> None:
    waiter_name, prerequisites = EXPECTED[order.name]
    waiter = by_name(graph, waiter_name)
    assert {r.name for r in order.prerequisites(graph, waiter)} == prerequisites
    assert creation_order.order_problems(graph, order) == []


def test_the_real_program_keeps_every_order(graph: Graph) -> None:
    assert check_creation_order(graph) == []


@pytest.mark.parametrize(
    ("order_name", "prerequisite"),
    [
        (name, prerequisite)
        for name, (_, prerequisites) in EXPECTED.items()
        for prerequisite in sorted(prerequisites)
    ],
)
def test_a_forgotten_dependency_fails_the_check_and_names_the_order(
    graph: Graph, order_name: str, prerequisite: str
) -> None:
    waiter_name, _ = EXPECTED[order_name]
    cut(graph, by_name(graph, prerequisite))
    problems = check_creation_order(graph)
    assert any(
        p.startswith(f"{order_name}: ")
        and f" {waiter_name} does not wait for " in p
        and p.split(" does not wait for ")[1].split(" (")[0].endswith(f" {prerequisite}")
        for p in problems
    ), problems


def test_every_logins_rotation_waits_for_the_migrations_but_the_masters_need_not(
    graph: Graph,
) -> None:
    (order,) = [o for o in ORDERS if o.name == "a login's secret rotation after the migrations"]
    run = by_name(graph, "api-migrations-run")
    for login in ("app", "keys"):
        assert order.prerequisites(graph, by_name(graph, f"db-rotation-{login}")) == [run]
    assert order.prerequisites(graph, by_name(graph, "db-rotation-master")) == []


def test_an_internal_alb_needs_no_internet_gateway(graph: Graph) -> None:
    alb = by_name(graph, "alb")
    alb.inputs["internal"] = True
    assert creation_order.internet_gateways(graph, alb) == []


def test_the_service_waits_for_steady_state_with_a_bounded_timeout(graph: Graph) -> None:
    service = by_name(graph, "api-service")
    assert service.inputs["waitForSteadyState"] is True
    assert service.custom_timeouts == {"create": "20m", "update": "20m"}
