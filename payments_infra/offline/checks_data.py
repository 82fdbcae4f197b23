"""Graph-wide checks of the data: encryption at rest, the database (TLS, private, two zones),
and secrets that stay secret.
"""

from __future__ import annotations

import json
import re

from payments_infra.config.naming import Names
from payments_infra.offline.checks_conventions import label
from payments_infra.offline.checks_network import subnet_routing
from payments_infra.offline.graph import Graph, SecretValue


def check_encryption_at_rest(graph: Graph) -> list[str]:
    """Data stores and secrets use a customer-managed key; keys rotate (PCI DSS 3.5, 3.6)."""
    problems = []
    for cluster in graph.of_type("aws:rds/cluster:Cluster"):
        if cluster.inputs.get("storageEncrypted") is not True or not cluster.inputs.get("kmsKeyId"):
            problems.append(f"{label(cluster)} is not encrypted with a customer-managed key")
    for instance in graph.of_type("aws:rds/clusterInstance:ClusterInstance"):
        if instance.inputs.get("performanceInsightsEnabled") and not instance.inputs.get(
            "performanceInsightsKmsKeyId"
        ):
            problems.append(f"{label(instance)} keeps Performance Insights under an AWS key")
    for secret in graph.of_type("aws:secretsmanager/secret:Secret"):
        if not secret.inputs.get("kmsKeyId"):
            problems.append(f"{label(secret)} is not encrypted with a customer-managed key")
    for key in graph.of_type("aws:kms/key:Key"):
        if key.inputs.get("enableKeyRotation") is not True:
            problems.append(f"{label(key)} does not rotate")
    for group in graph.of_type("aws:cloudwatch/logGroup:LogGroup"):
        if not group.inputs.get("kmsKeyId"):
            problems.append(f"{label(group)} is not encrypted with the logs key")
    for topic in graph.of_type("aws:sns/topic:Topic"):
        if not topic.inputs.get("kmsMasterKeyId"):
            problems.append(f"{label(topic)} is not encrypted with a customer-managed key")
    return problems


def check_tls_to_database(graph: Graph) -> list[str]:
    """Every cluster uses a parameter group that refuses connections without TLS."""
    forcing = {
        group.inputs.get("name")
        for group in graph.of_type("aws:rds/clusterParameterGroup:ClusterParameterGroup")
        if {"name": "rds.force_ssl", "value": "1"}
        in [{k: p.get(k) for k in ("name", "value")} for p in group.inputs.get("parameters", [])]
    }
    return [
        f"{label(c)} uses parameter group {c.inputs.get('dbClusterParameterGroupName')}, "
        "which does not set rds.force_ssl = 1"
        for c in graph.of_type("aws:rds/cluster:Cluster")
        if c.inputs.get("dbClusterParameterGroupName") not in forcing
    ]


def check_database_private(graph: Graph) -> list[str]:
    """No database instance is public, and DB subnet groups hold private subnets only."""
    problems = [
        f"{label(r)} is publicly accessible"
        for r in [
            *graph.of_type("aws:rds/cluster:Cluster"),
            *graph.of_type("aws:rds/clusterInstance:ClusterInstance"),
        ]
        if r.inputs.get("publiclyAccessible")
    ]
    private_ids = {s.subnet.id for s in subnet_routing(graph) if s.target_type == "nat_gateway"}
    for group in graph.of_type("aws:rds/subnetGroup:SubnetGroup"):
        public = [i for i in group.inputs.get("subnetIds", []) if i not in private_ids]
        if public:
            problems.append(f"{label(group)} includes subnets that are not private: {public}")
    return problems


def check_database_zones(graph: Graph) -> list[str]:
    """Every cluster has instances placed explicitly in at least two zones (failover target)."""
    problems = []
    for cluster in graph.of_type("aws:rds/cluster:Cluster"):
        zones = {
            i.inputs.get("availabilityZone")
            for i in graph.of_type("aws:rds/clusterInstance:ClusterInstance")
            if i.inputs.get("clusterIdentifier") == cluster.id
        }
        if None in zones or len(zones) < 2:
            problems.append(f"{label(cluster)} has instances in zones {sorted(map(str, zones))}")
    return problems


def _strings(value: object) -> list[str]:
    """Every string inside a plain (not secret) value."""
    if isinstance(value, SecretValue):
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for item in value.values() for s in _strings(item)]
    if isinstance(value, list):
        return [s for item in value for s in _strings(item)]
    return []


SENSITIVE_KEY = re.compile(r"password|secret|private|token", re.IGNORECASE)


def _secret_strings(
    value: object, inside_secret: bool = False, sensitive: bool = True
) -> list[str]:
    """The strings the program marked secret.

    The engine pushes secretness up to the enclosing object or list (a registry entry with
    a password becomes secret as a whole), so inside a secret object only strings under a
    key that says it is sensitive count; the address beside a password is not a secret.
    """
    if isinstance(value, SecretValue):
        return _secret_strings(value.value, inside_secret=True, sensitive=True)
    if isinstance(value, str):
        return [value] if inside_secret and sensitive else []
    if isinstance(value, dict):
        return [
            text
            for key, item in value.items()
            for text in _secret_strings(
                item, inside_secret, sensitive=bool(SENSITIVE_KEY.search(str(key)))
            )
        ]
    if isinstance(value, list):
        return [text for item in value for text in _secret_strings(item, inside_secret, sensitive)]
    return []


def check_no_plain_secrets(graph: Graph) -> list[str]:
    """No value the program marked secret shows up in a plain input or a stack output."""
    secrets = {
        fragment
        for resource in graph
        for value in _secret_strings(resource.inputs)
        for fragment in _secret_fragments(value)
    }
    problems = []
    for resource in graph:
        for text in _strings(resource.inputs):
            if any(secret in text for secret in secrets):
                problems.append(f"{label(resource)} has a secret value in a plain input")
                break
    for key, value in graph.stack_outputs.items():
        if any(secret in text for text in _strings(value) for secret in secrets):
            problems.append(f"stack output {key} shows a secret value")
    return problems


def _secret_fragments(value: str) -> list[str]:
    """What to look for of a secret: the value itself, or, for a JSON document such as the
    database secret (whose host and port are public), its password."""
    try:
        document = json.loads(value)
    except ValueError:
        return [value] if len(value) >= 8 else []
    if isinstance(document, dict):
        return [str(document["password"])] if "password" in document else []
    return [value]


# The database credentials' secrets, by their names (naming.py's catalogue): the master
# user's and each login's (components/database/aurora.py).
DATABASE_SECRET_PREFIXES = tuple(
    f"{entry.prefix}-"
    for entry in (Names.db_master_secret, Names.db_app_secret, Names.db_keys_secret)
)
# PCI DSS 8.3.9 and 8.6.3 leave the period to the entity's risk analysis; a year is the
# most the setting allows (payments:dbRotationDays).
MAX_ROTATION_DAYS = 365


def check_database_secret_rotation(graph: Graph) -> list[str]:
    """The database credentials rotate: a rotation schedule of at most a year, run by a
    function (PCI DSS 8.3.9, 8.6.3). Not among ``run_checks``: ``payments:dbRotationDays=0``
    is allowed, and the plan warns about it instead; the policy pack's
    ``database-credentials-rotate`` rule runs this (advisory, mandatory in production.json)."""
    rotations = graph.of_type("aws:secretsmanager/secretRotation:SecretRotation")
    problems = []
    for secret in graph.of_type("aws:secretsmanager/secret:Secret"):
        if not str(secret.inputs.get("name", "")).startswith(DATABASE_SECRET_PREFIXES):
            continue
        ids = {secret.id, secret.outputs.get("arn")} - {None, ""}
        # A preview does not know a new secret's id yet: such a rotation may be this one's.
        schedules = [
            r
            for r in rotations
            if not isinstance(r.inputs.get("secretId"), str) or r.inputs["secretId"] in ids
        ]
        if not schedules:
            problems.append(
                f"{label(secret)} never rotates: no rotation schedule (payments:dbRotationDays "
                "is 0)"
            )
        for schedule in schedules:
            rules = schedule.inputs.get("rotationRules") or {}
            days = rules.get("automaticallyAfterDays")
            if not rules.get("scheduleExpression") and not (
                isinstance(days, int | float) and 1 <= days <= MAX_ROTATION_DAYS
            ):
                problems.append(
                    f"{label(schedule)} must rotate {label(secret)} every 1 to "
                    f"{MAX_ROTATION_DAYS} days; got {days}"
                )
            if not schedule.inputs.get("rotationLambdaArn"):
                problems.append(f"{label(schedule)} names no rotation function")
    return problems
