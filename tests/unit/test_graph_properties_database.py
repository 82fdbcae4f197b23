"""Graph-wide properties of the database and its secrets, and proof that each check can fail:
encryption under customer keys, TLS forced, private and in two zones, no secret in a plain value,
its log groups made first, and nothing that blocks a destroy."""

from __future__ import annotations

import pytest

from payments_infra.offline.graph import Graph
from payments_infra.offline.mocks import MOCK_PASSWORD
from tests.graph_checks import failing, first, subnet


def test_an_unencrypted_cluster_is_caught(graph: Graph) -> None:
    first(graph, "aws:rds/cluster:Cluster").inputs["storageEncrypted"] = False
    assert "encryption at rest with customer keys" in failing(graph)


def test_a_secret_under_the_aws_managed_key_is_caught(graph: Graph) -> None:
    del first(graph, "aws:secretsmanager/secret:Secret").inputs["kmsKeyId"]
    assert "encryption at rest with customer keys" in failing(graph)


def test_a_key_without_rotation_is_caught(graph: Graph) -> None:
    first(graph, "aws:kms/key:Key").inputs["enableKeyRotation"] = False
    assert any(
        "does not rotate" in p for p in failing(graph)["encryption at rest with customer keys"]
    )


def test_a_parameter_group_without_forced_tls_is_caught(graph: Graph) -> None:
    group = first(graph, "aws:rds/clusterParameterGroup:ClusterParameterGroup")
    group.inputs["parameters"] = [
        p for p in group.inputs["parameters"] if p["name"] != "rds.force_ssl"
    ]
    assert "TLS forced on the database" in failing(graph)


def test_a_public_database_instance_is_caught(graph: Graph) -> None:
    first(graph, "aws:rds/clusterInstance:ClusterInstance").inputs["publiclyAccessible"] = True
    assert "database private" in failing(graph)


def test_a_public_subnet_in_the_db_subnet_group_is_caught(graph: Graph) -> None:
    group = first(graph, "aws:rds/subnetGroup:SubnetGroup")
    group.inputs["subnetIds"] = [
        *group.inputs["subnetIds"],
        subnet(graph, "public", "us-east-1a").id,
    ]
    assert any("not private" in p for p in failing(graph)["database private"])


def test_ingress_from_the_whole_internet_to_the_database_is_caught(graph: Graph) -> None:
    rule = graph.by_urn(next(r.urn for r in graph if r.name == "api-tasks-to-db-ingress"))
    del rule.inputs["referencedSecurityGroupId"]
    rule.inputs["cidrIpv4"] = "0.0.0.0/0"
    assert "no ingress from the whole Internet" in failing(graph)


def test_a_password_in_a_plain_input_is_caught(graph: Graph) -> None:
    first(graph, "aws:secretsmanager/secret:Secret").inputs["description"] = MOCK_PASSWORD
    assert "no secret in a plain value" in failing(graph)


def test_a_password_in_a_stack_output_is_caught(graph: Graph) -> None:
    graph.stack_outputs["db_url"] = f"postgresql://u:{MOCK_PASSWORD}@h/db"
    assert any("db_url" in p for p in failing(graph)["no secret in a plain value"])


def test_an_rds_export_without_its_log_group_is_caught(graph: Graph) -> None:
    group = next(
        g
        for g in graph.of_type("aws:cloudwatch/logGroup:LogGroup")
        if "/aws/rds/" in g.inputs["name"]
    )
    assert "log groups AWS would create exist first" in failing(graph.without(group.urn))


def test_a_cluster_that_does_not_wait_for_its_log_group_is_caught(graph: Graph) -> None:
    first(graph, "aws:rds/cluster:Cluster").dependencies.clear()
    assert any(
        "does not wait" in p for p in failing(graph)["log groups AWS would create exist first"]
    )


@pytest.mark.parametrize(
    ("type_token", "key", "value"),
    [
        ("aws:rds/cluster:Cluster", "skipFinalSnapshot", False),
        ("aws:rds/cluster:Cluster", "deletionProtection", True),
        ("aws:secretsmanager/secret:Secret", "recoveryWindowInDays", 7),
        ("aws:kms/key:Key", "deletionWindowInDays", 30),
    ],
)
def test_database_settings_that_block_destroy_are_caught(
    graph: Graph, type_token: str, key: str, value: object
) -> None:
    first(graph, type_token).inputs[key] = value
    assert any(key in p for p in failing(graph)["destroyable"])


def test_a_reader_in_the_writers_zone_is_caught(graph: Graph) -> None:
    for instance in graph.of_type("aws:rds/clusterInstance:ClusterInstance"):
        instance.inputs["availabilityZone"] = "us-east-1a"
    assert "database in two zones" in failing(graph)
