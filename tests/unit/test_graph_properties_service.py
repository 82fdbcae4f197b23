"""Graph-wide properties of the API service, and proof that each check can fail: HTTPS with
TLS 1.3 to and behind the ALB, private tasks without public IPs, the task count left to
autoscaling, and Container Insights' log group made first."""

from __future__ import annotations

from payments_infra.offline.graph import Graph
from tests.graph_checks import failing, first, subnet


def test_a_plain_http_listener_is_caught(graph: Graph) -> None:
    listener = first(graph, "aws:lb/listener:Listener")
    listener.inputs.update(port=80, protocol="HTTP")
    assert any(
        "only HTTPS" in p for p in failing(graph)["HTTPS with TLS 1.3 to and behind the ALB"]
    )


def test_a_listener_left_on_the_2016_policy_is_caught(graph: Graph) -> None:
    del first(graph, "aws:lb/listener:Listener").inputs["sslPolicy"]
    assert "HTTPS with TLS 1.3 to and behind the ALB" in failing(graph)


def test_a_plain_http_target_group_is_caught(graph: Graph) -> None:
    first(graph, "aws:lb/targetGroup:TargetGroup").inputs["protocol"] = "HTTP"
    assert "HTTPS with TLS 1.3 to and behind the ALB" in failing(graph)


def test_tasks_with_public_ips_are_caught(graph: Graph) -> None:
    network = first(graph, "aws:ecs/service:Service").inputs["networkConfiguration"]
    network["assignPublicIp"] = True
    assert "tasks private, no public IP" in failing(graph)


def test_tasks_in_public_subnets_are_caught(graph: Graph) -> None:
    network = first(graph, "aws:ecs/service:Service").inputs["networkConfiguration"]
    network["subnets"] = [subnet(graph, "public", "us-east-1a").id]
    assert "tasks private, no public IP" in failing(graph)


def test_a_service_whose_count_a_deploy_would_reset_is_caught(graph: Graph) -> None:
    first(graph, "aws:ecs/service:Service").ignore_changes.clear()
    assert "autoscaling owns the task count" in failing(graph)


def test_container_insights_without_its_log_group_is_caught(graph: Graph) -> None:
    group = next(
        g
        for g in graph.of_type("aws:cloudwatch/logGroup:LogGroup")
        if "containerinsights" in g.inputs["name"]
    )
    assert "log groups AWS would create exist first" in failing(graph.without(group.urn))
