"""The Database component, read from the recorded graph of the real program."""

from __future__ import annotations

import importlib.util
import json
from types import ModuleType
from typing import Any

import pytest

from payments_infra import REPO_ROOT
from payments_infra.components.aurora import (
    APP_LOGIN,
    KEYS_LOGIN,
    MASTER_USERNAME,
    SECRET_KEYS,
    secret_document,
)
from payments_infra.components.db_rotation import ROTATION_OFF_WARNING
from payments_infra.config import StackConfig
from payments_infra.config.errors import ConfigError
from payments_infra.offline import checks
from payments_infra.offline.checks_network import subnet_routing
from payments_infra.offline.graph import Graph, Resource, SecretValue
from payments_infra.offline.mocks import MOCK_PASSWORD, record_program
from tests.stacks import SUFFIX, VALID_CONFIG

CLUSTER = "aws:rds/cluster:Cluster"
INSTANCE = "aws:rds/clusterInstance:ClusterInstance"
SECRET = "aws:secretsmanager/secret:Secret"
VERSION = "aws:secretsmanager/secretVersion:SecretVersion"
ROTATION = "aws:secretsmanager/secretRotation:SecretRotation"
# The database's secrets, by the role in their names: db-{role}-credentials-{suffix}.
ROLES = ("master", "app", "keys")
# Who each secret logs in as.
USERNAMES = {"master": MASTER_USERNAME, "app": "payments_api", "keys": "payments_keys_cli"}


def only(graph: Graph, type_token: str) -> Resource:
    (resource,) = [r for r in graph.of_type(type_token) if r.name.startswith("database-")]
    return resource


def secret(graph: Graph, role: str) -> Resource:
    """The secret ``db-{role}-credentials-{suffix}``."""
    (found,) = [
        r for r in graph.of_type(SECRET) if r.inputs["name"] == f"db-{role}-credentials-{SUFFIX}"
    ]
    return found


def secret_value(graph: Graph, role: str) -> Resource:
    """The SecretVersion holding that secret's first value."""
    (found,) = [v for v in graph.of_type(VERSION) if v.inputs["secretId"] == secret(graph, role).id]
    return found


def document(graph: Graph, role: str) -> dict[str, Any]:
    """That first value's JSON (a Pulumi secret: what a test may read under mocks)."""
    value = secret_value(graph, role).inputs["secretString"]
    assert isinstance(value, SecretValue)
    return dict(json.loads(value.value))


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
    assert set(statements) == {"AdministerKey", "UseThroughRdsAndSecretsManager"}
    administer, use = statements["AdministerKey"], statements["UseThroughRdsAndSecretsManager"]
    assert not {"kms:Decrypt", "kms:Encrypt"} & set(administer["Action"])
    assert all("*" not in action for s in statements.values() for action in s["Action"])
    assert use["Condition"]["StringEquals"]["kms:ViaService"] == [
        "rds.us-east-1.amazonaws.com",
        "secretsmanager.us-east-1.amazonaws.com",
    ]
    assert {s["Principal"]["AWS"] for s in statements.values()} == {
        "arn:aws:iam::123456789012:root"
    }


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


def test_every_password_is_a_secret_wherever_it_goes(graph: Graph) -> None:
    password = only(graph, CLUSTER).inputs["masterPassword"]
    assert isinstance(password, SecretValue) and password.value == MOCK_PASSWORD
    versions = graph.of_type(VERSION)
    assert len(versions) == 3
    for version in versions:
        assert isinstance(version.inputs["secretString"], SecretValue), version.name
    leaks = [
        r.name for r in graph if MOCK_PASSWORD in json.dumps(r.inputs, default=lambda _: "[s]")
    ]
    assert leaks == []
    assert MOCK_PASSWORD not in json.dumps(graph.stack_outputs, default=lambda _: "[s]")


def test_master_secret_holds_the_rotation_shape_plus_a_url_to_the_cluster_endpoint(
    graph: Graph,
) -> None:
    master = document(graph, "master")
    cluster = only(graph, CLUSTER)
    # No masterarn: the master's secret rotates single-user.
    assert set(master) == {
        "engine",
        "host",
        "port",
        "username",
        "password",
        "dbname",
        "dbClusterIdentifier",
        "url",
    }
    assert master["username"] == "payments_admin"
    assert master["host"] == cluster.outputs["endpoint"]
    assert master["dbClusterIdentifier"] == f"aurora-cluster-{SUFFIX}"
    assert master["url"] == (
        f"postgresql://payments_admin:{MOCK_PASSWORD}@{cluster.outputs['endpoint']}:5432/"
        "payments?sslmode=verify-full"
    )
    assert (
        secret(graph, "master").inputs["kmsKeyId"] == only(graph, "aws:kms/key:Key").outputs["arn"]
    )


@pytest.mark.parametrize("role", ["app", "keys"])
def test_a_login_secret_names_its_user_and_the_master_secret(graph: Graph, role: str) -> None:
    login = document(graph, role)
    master = document(graph, "master")
    cluster = only(graph, CLUSTER)
    assert set(login) == {*master, "masterarn"}
    assert login["username"] == USERNAMES[role]
    # masterarn is what makes the rotation function alternate users, logged in as the master.
    assert login["masterarn"] == secret(graph, "master").outputs["arn"]
    for key in ("engine", "host", "port", "dbname", "dbClusterIdentifier"):
        assert login[key] == master[key], key
    assert login["host"] == cluster.outputs["endpoint"]
    assert login["url"] == (
        f"postgresql://{USERNAMES[role]}:{login['password']}@{cluster.outputs['endpoint']}:"
        "5432/payments?sslmode=verify-full"
    )
    found = secret(graph, role)
    assert found.inputs["kmsKeyId"] == only(graph, "aws:kms/key:Key").outputs["arn"]
    assert USERNAMES[role] in found.inputs["description"]


@pytest.mark.parametrize("role", ROLES)
def test_each_secret_gets_its_own_random_password(graph: Graph, role: str) -> None:
    (password,) = [
        p
        for p in graph.of_type("random:index/randomPassword:RandomPassword")
        if p.name == f"database-{role}-password"
    ]
    others = {p.urn for p in graph.of_type("random:index/randomPassword:RandomPassword")} - {
        password.urn
    }
    dependencies = set(secret_value(graph, role).dependencies)
    assert password.urn in dependencies
    assert not dependencies & others
    assert password.inputs["length"] == 32 and password.inputs["special"] is True


def test_a_login_url_escapes_what_a_url_cannot_hold() -> None:
    login = json.loads(
        secret_document(
            "host.example", "p@ss/w:rd", "aurora-cluster-x", username="u", master_secret_arn="m"
        )
    )
    assert (
        login["url"]
        == "postgresql://u:p%40ss%2Fw%3Ard@host.example:5432/payments?sslmode=verify-full"
    )
    assert login["password"] == "p@ss/w:rd" and login["masterarn"] == "m"


def test_secret_keys_name_only_keys_of_the_secret_documents() -> None:
    master = json.loads(secret_document("host.example", "pw", "aurora-cluster-x"))
    login = json.loads(
        secret_document(
            "host.example", "pw", "aurora-cluster-x", username="u", master_secret_arn="arn"
        )
    )
    assert set(SECRET_KEYS.values()) <= set(master)
    assert set(SECRET_KEYS.values()) <= set(login)
    assert set(SECRET_KEYS) == {"DB_HOST", "DB_PORT", "DB_NAME", "DB_USER", "DB_PASSWORD"}


def test_stack_exports_the_three_secret_arns_but_no_password(graph: Graph) -> None:
    exported = {role: graph.stack_outputs[f"db_{role}_secret_arn"] for role in ROLES}
    assert exported == {role: secret(graph, role).outputs["arn"] for role in ROLES}
    assert "db_secret_arn" not in graph.stack_outputs
    assert not any("password" in key for key in graph.stack_outputs)


def roles_module() -> ModuleType:
    """app/api's payments_api/roles.py, the names the migrations create, loaded by path (the
    API's package is not installed in the infrastructure's environment)."""
    path = REPO_ROOT / "app" / "api" / "payments_api" / "roles.py"
    spec = importlib.util.spec_from_file_location("payments_api_roles_under_test", path)
    assert spec and spec.loader, path
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_logins_are_the_users_and_groups_the_migrations_create() -> None:
    roles = roles_module()
    assert APP_LOGIN.username == roles.APP_LOGIN_USERS[0]
    assert APP_LOGIN.group == roles.APP_GROUP
    assert KEYS_LOGIN.username == roles.KEYS_LOGIN_USERS[0]
    assert KEYS_LOGIN.group == roles.KEYS_GROUP
    # The secrets' roles name them in db-{role}-credentials.
    assert (APP_LOGIN.role, KEYS_LOGIN.role) == ("app", "keys")
    assert {APP_LOGIN.username, KEYS_LOGIN.username}.isdisjoint({MASTER_USERNAME})


def test_pinned_minor_version_is_used_as_given() -> None:
    graph = record_program({**VALID_CONFIG, "payments:dbEngineVersion": "16.8"}, stack="test")
    assert graph.of_type(CLUSTER)[0].inputs["engineVersion"] == "16.8"
    group = graph.of_type("aws:rds/clusterParameterGroup:ClusterParameterGroup")[0]
    assert group.inputs["family"] == "aurora-postgresql16"


def load(**overrides: str) -> StackConfig:
    return StackConfig.from_mapping({**VALID_CONFIG, **overrides}, project="p", stack="s")


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


@pytest.fixture(scope="module")
def graph_without_rotation() -> Graph:
    return record_program({**VALID_CONFIG, "payments:dbRotationDays": "0"}, stack="test")


def test_rotation_is_on_by_default_every_30_days_for_every_secret(graph: Graph) -> None:
    rotations = graph.of_type(ROTATION)
    assert sorted(r.inputs["secretId"] for r in rotations) == sorted(
        secret(graph, role).id for role in ROLES
    )
    assert load().database.rotation_days == 30
    # The stack's own function (db_rotation.py), not one from the Serverless Application
    # Repository, whose function leaves `url` stale.
    function = only(graph, "aws:lambda/function:Function")
    assert function.inputs["name"] == f"db-password-rotation-{SUFFIX}"
    for rotation in rotations:
        assert rotation.inputs["rotationRules"] == {"automaticallyAfterDays": 30}
        assert rotation.inputs["rotationLambdaArn"] == function.outputs["arn"]
    assert not [r for r in graph if r.type.startswith("aws:serverlessrepository")]
    assert graph.warnings == []


def test_with_rotation_a_later_up_does_not_restore_the_first_passwords(graph: Graph) -> None:
    for role in ROLES:
        assert "secretString" in secret_value(graph, role).ignore_changes, role
    assert "masterPassword" in only(graph, CLUSTER).ignore_changes


def test_rotation_off_is_allowed_and_warned_about(graph_without_rotation: Graph) -> None:
    assert graph_without_rotation.of_type(ROTATION) == []
    assert not [r for r in graph_without_rotation if r.name.startswith("database-rotation")]
    assert not graph_without_rotation.of_type("payments:database:PasswordRotation")
    for role in ROLES:
        assert "secretString" not in secret_value(graph_without_rotation, role).ignore_changes
    assert "masterPassword" not in only(graph_without_rotation, CLUSTER).ignore_changes
    assert graph_without_rotation.warnings == [ROTATION_OFF_WARNING]
    assert "payments:dbRotationDays is 0" in ROTATION_OFF_WARNING
    assert "8.3.9" in ROTATION_OFF_WARNING


def test_the_graph_without_rotation_passes_every_graph_wide_check(
    graph_without_rotation: Graph,
) -> None:
    results = checks.run_checks(
        graph_without_rotation, SUFFIX, ["us-east-1a", "us-east-1b", "us-east-1c"]
    )
    assert {r.name: r.problems for r in results if not r.passed} == {}


@pytest.mark.parametrize("days", ["-1", "366", "weekly", "1.5"])
def test_bad_rotation_days_fail_clearly(days: str) -> None:
    with pytest.raises(
        ConfigError, match=f'payments:dbRotationDays must be 0 \\(off\\) or .*got "{days}"'
    ):
        load(**{"payments:dbRotationDays": days})
