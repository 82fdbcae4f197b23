"""The Database component's Aurora cluster, read from the recorded graph of the real program:
its engine and version, its key and encryption, its subnets, zones and the one way in, its
parameters and operations settings, what a destroy leaves, and the database settings it takes.

Its secrets and logins: test_database_secrets.py; their rotation setting:
test_database_rotation_setting.py.
"""

from __future__ import annotations

import json

import pytest

from payments_infra.config.errors import ConfigError
from payments_infra.offline.checks_network import subnet_routing
from payments_infra.offline.graph import Graph
from payments_infra.offline.mocks import record_program
from tests.config_loading import load
from tests.database_queries import CLUSTER, ROLES, SECRET, only, secret
from tests.stacks import SUFFIX, VALID_CONFIG

INSTANCE = "aws:rds/clusterInstance:ClusterInstance"


def test_cluster_is_aurora_postgresql_serverless_v2_with_the_resolved_version(
    graph: Graph,
) -> None:
    cluster = only(graph, CLUSTER)
    assert cluster.inputs["clusterIdentifier"] == f"aurora-cluster-{SUFFIX}"
    assert cluster.inputs["engine"] == "aurora-postgresql"
    assert cluster.inputs["engineVersion"] == "17.6"  # "17" made exact by the look-up
    assert cluster.inputs["serverlessv2ScalingConfiguration"] == {
        "minCapacity": 1.0,
        "maxCapacity": 16.0,
    }
    assert {i.inputs["instanceClass"] for i in graph.of_type(INSTANCE)} == {"db.serverless"}


def test_storage_and_performance_insights_are_encrypted_with_the_database_key(
    graph: Graph,
) -> None:
    cluster, key = only(graph, CLUSTER), only(graph, "aws:kms/key:Key")
    assert cluster.inputs["storageEncrypted"] is True
    assert cluster.inputs["kmsKeyId"] == key.outputs["arn"]
    for instance in graph.of_type(INSTANCE):
        assert instance.inputs["performanceInsightsEnabled"] is True
        assert instance.inputs["performanceInsightsKmsKeyId"] == key.outputs["arn"]


def test_key_rotates_has_the_shortest_deletion_window_and_its_alias(graph: Graph) -> None:
    key = only(graph, "aws:kms/key:Key")
    alias = only(graph, "aws:kms/alias:Alias")
    assert key.inputs["enableKeyRotation"] is True
    assert key.inputs["deletionWindowInDays"] == 7
    assert alias.inputs["name"] == f"alias/aurora-{SUFFIX}"
    assert alias.inputs["targetKeyId"] == key.outputs["keyId"]


def test_key_policy_allows_use_only_through_rds_and_secrets_manager(graph: Graph) -> None:
    policy = json.loads(only(graph, "aws:kms/key:Key").inputs["policy"])
    statements = {s["Sid"]: s for s in policy["Statement"]}
    assert set(statements) == {
        "CustodiansAdministerKey",
        "TheAccountReadsTheKeysSettings",
        "RdsForTheClusterAndPerformanceInsights",
        "SecretsManagerForTheSecretsUsers",
    }
    administer, read = (
        statements["CustodiansAdministerKey"],
        statements["TheAccountReadsTheKeysSettings"],
    )
    assert not {"kms:Decrypt", "kms:Encrypt"} & set(administer["Action"] + read["Action"])
    assert all("*" not in action for s in statements.values() for action in s["Action"])
    rds, sm = (
        statements["RdsForTheClusterAndPerformanceInsights"],
        statements["SecretsManagerForTheSecretsUsers"],
    )
    assert rds["Condition"]["StringEquals"]["kms:ViaService"] == "rds.us-east-1.amazonaws.com"
    assert (
        sm["Condition"]["StringEquals"]["kms:ViaService"]
        == "secretsmanager.us-east-1.amazonaws.com"
    )
    # Use only by named callers (test_custody.py says which), never the whole account.
    assert all("aws:PrincipalArn" in s["Condition"]["ArnEquals"] for s in (rds, sm))


def test_subnet_group_has_exactly_the_three_private_subnets(graph: Graph) -> None:
    group = only(graph, "aws:rds/subnetGroup:SubnetGroup")
    private = {r.subnet.id for r in subnet_routing(graph) if r.declared_tier == "private"}
    assert len(private) == 3
    assert set(group.inputs["subnetIds"]) == private
    assert only(graph, CLUSTER).inputs["dbSubnetGroupName"] == group.inputs["name"]


def test_writer_and_reader_sit_in_two_different_zones_and_are_not_public(graph: Graph) -> None:
    instances = {i.inputs["identifier"]: i for i in graph.of_type(INSTANCE)}
    writer, reader = instances[f"aurora-writer-{SUFFIX}"], instances[f"aurora-reader-{SUFFIX}"]
    assert writer.inputs["availabilityZone"] != reader.inputs["availabilityZone"]
    assert (writer.inputs["promotionTier"], reader.inputs["promotionTier"]) == (0, 1)
    cluster = only(graph, CLUSTER)
    for instance in (writer, reader):
        assert instance.inputs["publiclyAccessible"] is False
        assert instance.inputs["clusterIdentifier"] == cluster.id


def test_parameter_group_forces_tls_and_logs_what_an_assessor_needs(graph: Graph) -> None:
    group = only(graph, "aws:rds/clusterParameterGroup:ClusterParameterGroup")
    parameters = {p["name"]: p["value"] for p in group.inputs["parameters"]}
    assert parameters["rds.force_ssl"] == "1"
    assert parameters["ssl_min_protocol_version"] == "TLSv1.2"
    assert parameters["log_connections"] == "1" and parameters["log_disconnections"] == "1"
    assert int(parameters["log_min_duration_statement"]) > 0
    assert group.inputs["family"] == "aurora-postgresql17"
    assert only(graph, CLUSTER).inputs["dbClusterParameterGroupName"] == group.inputs["name"]


def test_operations_settings(graph: Graph) -> None:
    cluster = only(graph, CLUSTER)
    assert cluster.inputs["backupRetentionPeriod"] >= 7
    assert cluster.inputs["copyTagsToSnapshot"] is True
    assert cluster.inputs["preferredBackupWindow"] and cluster.inputs["preferredMaintenanceWindow"]
    assert cluster.inputs["iamDatabaseAuthenticationEnabled"] is True
    assert cluster.inputs["enabledCloudwatchLogsExports"] == ["postgresql"]
    assert all(i.inputs["autoMinorVersionUpgrade"] is True for i in graph.of_type(INSTANCE))


def test_minor_version_upgrades_by_aurora_are_not_undone_by_a_later_up(graph: Graph) -> None:
    for resource in [only(graph, CLUSTER), *graph.of_type(INSTANCE)]:
        assert "engineVersion" in resource.ignore_changes, resource.name


def test_log_group_for_the_export_exists_first_with_30_days(graph: Graph) -> None:
    name = f"/aws/rds/cluster/aurora-cluster-{SUFFIX}/postgresql"
    (group,) = [
        g for g in graph.of_type("aws:cloudwatch/logGroup:LogGroup") if g.inputs["name"] == name
    ]
    assert group.inputs["retentionInDays"] == 30
    assert group.urn in only(graph, CLUSTER).dependencies


def test_destroy_settings(graph: Graph) -> None:
    cluster = only(graph, CLUSTER)
    assert cluster.inputs["skipFinalSnapshot"] is True
    assert cluster.inputs["deletionProtection"] is False
    assert {role: secret(graph, role).inputs["recoveryWindowInDays"] for role in ROLES} == {
        "master": 0,
        "app": 0,
        "keys": 0,
    }
    assert len(graph.of_type(SECRET)) == 3  # the default stack has no other secret


def test_the_only_ingress_to_the_database_is_5432_from_the_tasks_and_the_rotation(
    graph: Graph,
) -> None:
    groups = {g.inputs["name"]: g for g in graph.of_type("aws:ec2/securityGroup:SecurityGroup")}
    db_sg, tasks_sg = groups[f"db-sg-{SUFFIX}"], groups[f"api-tasks-sg-{SUFFIX}"]
    rotation_sg = groups[f"db-rotation-sg-{SUFFIX}"]
    rules = [
        r
        for r in graph.of_type("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
        if r.inputs["securityGroupId"] == db_sg.id
    ]
    assert sorted(
        (
            r.inputs["ipProtocol"],
            r.inputs["fromPort"],
            r.inputs["toPort"],
            r.inputs["referencedSecurityGroupId"],
        )
        for r in rules
    ) == sorted([("tcp", 5432, 5432, tasks_sg.id), ("tcp", 5432, 5432, rotation_sg.id)])
    assert not [r for r in rules if "cidrIpv4" in r.inputs or "cidrIpv6" in r.inputs]
    assert not db_sg.inputs.get("ingress") and not db_sg.inputs.get("egress")
    assert only(graph, CLUSTER).inputs["vpcSecurityGroupIds"] == [db_sg.id]


def test_pinned_minor_version_is_used_as_given() -> None:
    graph = record_program({**VALID_CONFIG, "payments:dbEngineVersion": "16.8"}, stack="test")
    assert graph.of_type(CLUSTER)[0].inputs["engineVersion"] == "16.8"
    group = graph.of_type("aws:rds/clusterParameterGroup:ClusterParameterGroup")[0]
    assert group.inputs["family"] == "aurora-postgresql16"


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"payments:dbEngineVersion": "17.x"}, "payments:dbEngineVersion must be an Aurora"),
        ({"payments:dbEngineVersion": "v17"}, 'got "v17"'),
        ({"payments:dbEngineVersion": "15.4"}, "major 16 or newer"),
        (
            {"payments:dbMinCapacity": "8", "payments:dbMaxCapacity": "4"},
            "payments:dbMinCapacity must not exceed payments:dbMaxCapacity; got 8 > 4",
        ),
        ({"payments:dbMinCapacity": "0.25"}, "payments:dbMinCapacity must be 0.5 to 256"),
        ({"payments:dbMinCapacity": "1.3"}, "in steps of 0.5; got 1.3"),
        ({"payments:dbMaxCapacity": "512"}, "payments:dbMaxCapacity must be 1.0 to 256"),
        ({"payments:dbMaxCapacity": "lots"}, 'payments:dbMaxCapacity must be a number; got "lots"'),
        ({"payments:dbBackupRetentionDays": "0"}, "payments:dbBackupRetentionDays must be a whole"),
        ({"payments:dbBackupRetentionDays": "6"}, 'from 7 to 35; got "6"'),
        ({"payments:dbBackupRetentionDays": "36"}, 'from 7 to 35; got "36"'),
        ({"payments:dbBackupRetentionDays": "7.5"}, 'from 7 to 35; got "7.5"'),
    ],
)
def test_bad_database_settings_fail_clearly(overrides: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(".", r"\.")):
        load(**overrides)


@pytest.mark.parametrize(
    "overrides",
    [
        {"payments:dbMinCapacity": "0.5", "payments:dbMaxCapacity": "1"},
        {"payments:dbMinCapacity": "256", "payments:dbMaxCapacity": "256"},
        {"payments:dbBackupRetentionDays": "7"},
        {"payments:dbBackupRetentionDays": "35"},
        {"payments:dbEngineVersion": "16"},
        {"payments:dbEngineVersion": "17.6"},
    ],
)
def test_database_settings_at_their_boundaries_are_accepted(overrides: dict[str, str]) -> None:
    assert load(**overrides).database
