"""Queries over the API's ECS tasks in a recorded graph, shared by the service's tests
(test_service*.py) and the one-off tasks' (test_one_off_tasks.py, test_migration_runner.py):
their task definitions' families, the API's container, the database secrets they read and their
roles' policies."""

from __future__ import annotations

import json
from typing import Any

from payments_infra.offline.graph import Graph
from tests.graph_queries import named, task_container
from tests.stacks import SUFFIX

SECRET = "aws:secretsmanager/secret:Secret"
ROLE = "aws:iam/role:Role"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"

# The API's own task definition; the stack has two more, the one-off tasks' (test_one_off_tasks.py).
API_FAMILY = f"api-{SUFFIX}"
MIGRATIONS_FAMILY = f"migrations-{SUFFIX}"
KEYS_FAMILY = f"api-keys-{SUFFIX}"


def container(graph: Graph) -> dict[str, Any]:
    """The API service's container."""
    return task_container(graph, API_FAMILY)


def secret_arn(graph: Graph, role: str) -> str:
    """The ARN of the database secret ``db-{role}-credentials`` (master, app, keys)."""
    return str(named(graph, SECRET, f"db-{role}-credentials-{SUFFIX}").outputs["arn"])


def statements(graph: Graph, policy_name: str) -> dict[str, dict[str, Any]]:
    """Sid -> statement of the role policy of this physical name."""
    policy = named(graph, ROLE_POLICY, policy_name)
    return {s["Sid"]: s for s in json.loads(policy.inputs["policy"])["Statement"]}
