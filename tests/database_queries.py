"""Queries over the Database component in a recorded graph, shared by test_database.py,
test_database_secrets.py and test_database_rotation_setting.py: its resources, and its three
secrets by the role in their names."""

from __future__ import annotations

from payments_infra.offline.graph import Graph, Resource
from tests.stacks import SUFFIX

CLUSTER = "aws:rds/cluster:Cluster"
SECRET = "aws:secretsmanager/secret:Secret"
VERSION = "aws:secretsmanager/secretVersion:SecretVersion"
# The database's secrets, by the role in their names: db-{role}-credentials-{suffix}.
ROLES = ("master", "app", "keys")


def only(graph: Graph, type_token: str) -> Resource:
    """The one resource of this type in the Database component (named ``database-*``)."""
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
