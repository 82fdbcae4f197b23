"""The deployed database, checked against AWS itself. No secret value is printed."""

from __future__ import annotations

import json
from typing import Any

import pytest

from payments_infra.config.naming import Names, physical_name
from tests.integration.live_helpers import unfinished_rotations


def _cluster(rds: Any, stack_outputs: dict[str, Any]) -> dict[str, Any]:
    endpoint = stack_outputs["db_cluster_endpoint"]
    identifier = endpoint.split(".")[0]
    (cluster,) = rds.describe_db_clusters(DBClusterIdentifier=identifier)["DBClusters"]
    return dict(cluster)


def test_cluster_is_available_and_encrypted(rds: Any, stack_outputs: dict[str, Any]) -> None:
    cluster = _cluster(rds, stack_outputs)
    assert cluster["Status"] == "available"
    assert cluster["StorageEncrypted"] is True and cluster["KmsKeyId"]
    assert cluster["IAMDatabaseAuthenticationEnabled"] is True
    assert "postgresql" in cluster["EnabledCloudwatchLogsExports"]


def test_deletion_protection_is_what_the_stack_file_says(
    rds: Any, stack_outputs: dict[str, Any], protect_data: bool
) -> None:
    # payments:protectData: on, RDS refuses to delete the cluster; off, nothing blocks a destroy.
    # (Pulumi's `protect`, the final snapshot and the secret's recovery window live in the
    # Pulumi state and the provider, not in AWS: the graph check and policy pack hold those.)
    assert _cluster(rds, stack_outputs)["DeletionProtection"] is protect_data


def test_instances_are_in_two_zones_and_not_public(rds: Any, stack_outputs: dict[str, Any]) -> None:
    cluster = _cluster(rds, stack_outputs)
    members = [m["DBInstanceIdentifier"] for m in cluster["DBClusterMembers"]]
    instances = [
        rds.describe_db_instances(DBInstanceIdentifier=m)["DBInstances"][0] for m in members
    ]
    assert len(instances) >= 2
    assert len({i["AvailabilityZone"] for i in instances}) >= 2
    assert not any(i["PubliclyAccessible"] for i in instances)


def test_parameter_group_forces_tls(rds: Any, stack_outputs: dict[str, Any]) -> None:
    group = _cluster(rds, stack_outputs)["DBClusterParameterGroup"]
    pages = rds.get_paginator("describe_db_cluster_parameters").paginate(
        DBClusterParameterGroupName=group, Source="user"
    )
    values = {
        p["ParameterName"]: p.get("ParameterValue") for page in pages for p in page["Parameters"]
    }
    assert values["rds.force_ssl"] == "1"


# The master's secret and each login's (components/database/aurora.py).
SECRET_OUTPUTS = ("db_master_secret_arn", "db_app_secret_arn", "db_keys_secret_arn")


@pytest.mark.parametrize("output", SECRET_OUTPUTS)
def test_secret_is_the_stacks_and_no_rotation_is_unfinished(
    secretsmanager: Any,
    rds: Any,
    stack_outputs: dict[str, Any],
    environment_suffix: str,
    output: str,
) -> None:
    """What can be checked without the value (DescribeSecret): the database's own key encrypts
    it, and the stack's function has taken every rotation to the end. Its steps refuse a
    version whose user, host, port, database or url disagree with the current one, so a
    finished rotation vouches for the shape of what it wrote."""
    secret = secretsmanager.describe_secret(SecretId=stack_outputs[output])
    assert secret["ARN"] == stack_outputs[output]
    assert secret.get("KmsKeyId") == _cluster(rds, stack_outputs)["KmsKeyId"], (
        f"the secret is encrypted with {secret.get('KmsKeyId') or 'aws/secretsmanager'}, "
        "not with the database's key"
    )
    unfinished = unfinished_rotations(secret.get("VersionIdsToStages", {}))
    assert not unfinished, (
        f"versions {unfinished} are AWSPENDING but not AWSCURRENT: a rotation has not finished. "
        "Right after `make up` wait a minute (the first rotation runs then); otherwise read "
        "alarm-db-rotation-errors and the rotation function's log group"
    )
    if secret.get("RotationEnabled"):
        function = physical_name(Names.db_rotation_function, environment_suffix)
        assert secret.get("RotationLambdaARN", "").endswith(f":function:{function}")
        assert secret.get("LastRotatedDate"), "rotation is on but has not completed once yet"


@pytest.mark.parametrize("output", SECRET_OUTPUTS)
def test_secret_has_every_key_and_points_at_the_cluster(
    secretsmanager: Any, stack_outputs: dict[str, Any], output: str
) -> None:
    """Reads the value, so it needs secretsmanager:GetSecretValue, which the verifier's policy
    leaves out (the secret holds the master password: docs/deploy.md, Who may do what)."""
    from botocore.exceptions import ClientError  # noqa: PLC0415 (only live tests need AWS)

    try:
        value = secretsmanager.get_secret_value(SecretId=stack_outputs[output])
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") != "AccessDeniedException":
            raise
        pytest.skip(
            "this identity may not read the database secrets (the verifier may not: they hold "
            "passwords); their metadata was checked, and the deployer's `make verify` checks "
            "their keys"
        )
    document = json.loads(value["SecretString"])
    assert set(document) >= {"engine", "host", "port", "username", "password", "dbname", "url"}
    assert document["host"] == stack_outputs["db_cluster_endpoint"]
    assert document["url"].endswith("?sslmode=verify-full")
