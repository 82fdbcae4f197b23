"""The Database component's secrets, read from the recorded graph of the real program: the
master's and the two logins' (the API's, the key CLI's), each with its own random password,
always a Pulumi secret; their documents (the rotation's shape plus a URL to the cluster); the
stack's exports of their ARNs; and the logins being the users the migrations create.
"""

from __future__ import annotations

import importlib.util
import json
from types import ModuleType
from typing import Any

import pytest

from payments_infra import REPO_ROOT
from payments_infra.components.database.aurora import (
    APP_LOGIN,
    KEYS_LOGIN,
    MASTER_USERNAME,
    SECRET_KEYS,
    secret_document,
)
from payments_infra.offline.graph import Graph, SecretValue
from payments_infra.offline.mocks import MOCK_PASSWORD
from tests.database_queries import CLUSTER, ROLES, VERSION, only, secret, secret_value
from tests.stacks import SUFFIX

# Who each secret logs in as.
USERNAMES = {"master": MASTER_USERNAME, "app": "payments_api", "keys": "payments_keys_cli"}


def document(graph: Graph, role: str) -> dict[str, Any]:
    """That first value's JSON (a Pulumi secret: what a test may read under mocks)."""
    value = secret_value(graph, role).inputs["secretString"]
    assert isinstance(value, SecretValue)
    return dict(json.loads(value.value))


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
