"""The API's load balancer, read from the recorded graph of the real program: its one HTTPS
listener, the target group to the tasks, the ALB's hardening in the public subnets, and the
bucket its access logs go to. Who may reach it: test_service.py; what the listener forwards:
test_edge_listener.py."""

from __future__ import annotations

import json

from payments_infra.offline.checks_network import subnet_routing
from payments_infra.offline.graph import Graph
from tests.api_task_queries import container
from tests.graph_queries import in_component, named, only
from tests.stacks import SUFFIX


def test_only_listener_is_https_443_with_the_tls13_policy(graph: Graph) -> None:
    listener = only(graph, "aws:lb/listener:Listener").inputs
    assert (listener["port"], listener["protocol"]) == (443, "HTTPS")
    assert listener["sslPolicy"] == "ELBSecurityPolicy-TLS13-1-2-Res-PQ-2025-09"
    assert listener["certificateArn"]
    (action,) = listener["defaultActions"]
    assert action["type"] == "fixed-response"  # what forwards: test_edge_listener.py


def test_target_group_is_https_to_the_tasks_on_8443(graph: Graph) -> None:
    group = only(graph, "aws:lb/targetGroup:TargetGroup").inputs
    assert (group["protocol"], group["port"], group["targetType"]) == ("HTTPS", 8443, "ip")
    assert group["deregistrationDelay"] <= 60
    assert group["name"] == f"tg-api-{SUFFIX}"


def test_alb_is_public_hardened_and_logs_access(graph: Graph) -> None:
    alb = only(graph, "aws:lb/loadBalancer:LoadBalancer")
    public = {r.subnet.id for r in subnet_routing(graph) if r.declared_tier == "public"}
    assert set(alb.inputs["subnets"]) == public
    assert alb.inputs["internal"] is False
    assert alb.inputs["dropInvalidHeaderFields"] is True
    assert alb.inputs["desyncMitigationMode"] == "strictest"
    assert alb.inputs["enableDeletionProtection"] is False
    bucket = named(graph, "aws:s3/bucket:Bucket", f"alb-logs-{SUFFIX}")
    assert alb.inputs["accessLogs"] == {"bucket": bucket.inputs["bucket"], "enabled": True}
    (policy,) = [
        p for p in graph.of_type("aws:s3/bucketPolicy:BucketPolicy") if p.name.startswith("alb-")
    ]
    assert policy.urn in alb.dependencies


def test_the_tasks_keep_alive_outlasts_the_albs_idle_timeout(graph: Graph) -> None:
    """AWS recommends a target's keep-alive longer than the ALB's idle timeout: else the ALB may
    send a request on a connection the task is closing, and answer its client 502. The idle
    timeout is set, not left to the default, so the two cannot drift apart unseen."""
    alb = only(graph, "aws:lb/loadBalancer:LoadBalancer").inputs
    assert alb["idleTimeout"] == 60
    environment = {e["name"]: e["value"] for e in container(graph)["environment"]}
    assert int(environment["TIMEOUT_KEEP_ALIVE"]) > alb["idleTimeout"]


def test_alb_log_bucket_lets_only_elb_log_delivery_write_and_denies_plain_http(
    graph: Graph,
) -> None:
    bucket = named(graph, "aws:s3/bucket:Bucket", f"alb-logs-{SUFFIX}")
    assert bucket.inputs["forceDestroy"]
    document = json.loads(
        in_component(graph, "aws:s3/bucketPolicy:BucketPolicy", "alb").inputs["policy"]
    )
    allows = [s for s in document["Statement"] if s["Effect"] == "Allow"]
    assert {json.dumps(s["Principal"], sort_keys=True) for s in allows} == {
        '{"AWS": "arn:aws:iam::127311923021:root"}',
        '{"Service": "logdelivery.elasticloadbalancing.amazonaws.com"}',
    }
    assert all(s["Action"] == ["s3:PutObject"] for s in allows)
    (deny,) = [s for s in document["Statement"] if s["Effect"] == "Deny"]
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    encryption = in_component(
        graph,
        "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
        "alb",
    ).inputs["rules"][0]["applyServerSideEncryptionByDefault"]
    assert encryption == {"sseAlgorithm": "AES256"}
    lifecycle = in_component(
        graph, "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration", "alb"
    ).inputs["rules"][0]
    assert lifecycle["expiration"] == {"days": 30}
    block = in_component(
        graph, "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", "alb"
    ).inputs
    assert all(
        block[k]
        for k in (
            "blockPublicAcls",
            "blockPublicPolicy",
            "ignorePublicAcls",
            "restrictPublicBuckets",
        )
    )
