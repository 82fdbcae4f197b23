"""The deployed database, checked against AWS itself. No secret value is printed."""

from __future__ import annotations

import json
from typing import Any


def _cluster(rds: Any, stack_outputs: dict[str, Any]) -> dict[str, Any]:
    endpoint = stack_outputs["db_cluster_endpoint"]
    identifier = endpoint.split(".")[0]
    (cluster,) = rds.describe_db_clusters(DBClusterIdentifier=identifier)["DBClusters"]
    return dict(cluster)


def test_cluster_is_available_encrypted_and_not_protected(
    rds: Any, stack_outputs: dict[str, Any]
) -> None:
    cluster = _cluster(rds, stack_outputs)
    assert cluster["Status"] == "available"
    assert cluster["StorageEncrypted"] is True and cluster["KmsKeyId"]
    assert cluster["DeletionProtection"] is False
    assert cluster["IAMDatabaseAuthenticationEnabled"] is True
    assert "postgresql" in cluster["EnabledCloudwatchLogsExports"]


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


def test_secret_has_every_key_and_points_at_the_cluster(
    secretsmanager: Any, stack_outputs: dict[str, Any]
) -> None:
    value = secretsmanager.get_secret_value(SecretId=stack_outputs["db_secret_arn"])
    document = json.loads(value["SecretString"])
    assert set(document) >= {"engine", "host", "port", "username", "password", "dbname", "url"}
    assert document["host"] == stack_outputs["db_cluster_endpoint"]
    assert document["url"].endswith("?sslmode=verify-full")
