"""Fixtures for the container tests: Docker, the built image, the recorded task definition,
a local PostgreSQL over TLS and the stand-in for Secrets Manager.

Nothing here is skipped: without Docker or the image the tests fail with one sentence that
says what to do (`make image`; CI builds it before running them).
"""

from __future__ import annotations

import dataclasses
import json
import os
import secrets
import shutil
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from payments_local_servers.postgres import DatabaseCredentials, PostgresServer
from psycopg import sql

from payments_infra import REPO_ROOT
from payments_infra.aws.naming import physical_name
from payments_infra.components.aurora import (
    APP_LOGIN,
    DATABASE_NAME,
    KEYS_LOGIN,
    MASTER_USERNAME,
    PORT,
    SECRET_KEYS,
    secret_document,
)
from payments_infra.components.migration_runner import MIGRATIONS_CONTAINER
from payments_infra.components.one_off_tasks import KEYS_CONTAINER
from payments_infra.components.service import CONTAINER_NAME
from payments_infra.offline.graph import Graph
from tests.container.fargate import Docker, SecretsManagerStand, TaskDefinition
from tests.graph_queries import named
from tests.stacks import SUFFIX

IMAGE = os.environ.get("PAYMENTS_API_IMAGE", "payments-api:local")
MAKE_IMAGE = "run `make image` (CI builds the image before these tests)"
CA_BUNDLE_SHA256_FILE = REPO_ROOT / "app" / "api" / "certs" / "rds-global-bundle.pem.sha256"


@pytest.fixture(scope="session")
def docker() -> Docker:
    executable = shutil.which(os.environ.get("DOCKER") or "docker")
    if not executable:
        pytest.fail(
            f"Docker is not installed: install it (Debian: docker.io), then {MAKE_IMAGE}.",
            pytrace=False,
        )
    docker = Docker(executable)
    if docker.run("info", check=False).returncode != 0:
        pytest.fail(
            "The Docker daemon is not answering (docker info failed): start it, "
            f"then {MAKE_IMAGE}.",
            pytrace=False,
        )
    return docker


@pytest.fixture(scope="session")
def image(docker: Docker) -> str:
    if not docker.image_exists(IMAGE):
        pytest.fail(f"The image {IMAGE} is not built: {MAKE_IMAGE}.", pytrace=False)
    return IMAGE


@pytest.fixture(scope="session")
def image_ca_bundle(docker: Docker, image: str) -> tuple[str, str]:
    """(path, SHA-256) of the CA bundle the API in the image verifies the database with: its
    DB_SSLROOTCERT default, read from the image's own settings module."""
    script = (
        "import hashlib; from payments_api.settings import RDS_CA_BUNDLE as path; "
        "print(path, hashlib.sha256(open(path, 'rb').read()).hexdigest())"
    )
    result = docker.run("run", "--rm", "--network=none", "--entrypoint=python", image, "-c", script)
    path, digest = result.stdout.split()
    return path, digest


@pytest.fixture(scope="session")
def recorded_ca_bundle_sha256() -> str:
    """The one recorded SHA-256 of app/api/certs/rds-global-bundle.pem (sha256sum format)."""
    digest, name = CA_BUNDLE_SHA256_FILE.read_text().split()
    assert name == "rds-global-bundle.pem"
    return digest


def _recorded_task(graph: Graph, family_key: str, container: str) -> TaskDefinition:
    family = physical_name(family_key, SUFFIX)
    (task,) = [
        t
        for t in graph.of_type("aws:ecs/taskDefinition:TaskDefinition")
        if t.inputs.get("family") == family
    ]
    return TaskDefinition.from_inputs(task.inputs, container)


@pytest.fixture(scope="session")
def task_definition(recorded_graph: Graph) -> TaskDefinition:
    """The API container as the program declares it (not a copy of its values)."""
    return _recorded_task(recorded_graph, "task_family", CONTAINER_NAME)


@pytest.fixture(scope="session")
def migrations_task_definition(recorded_graph: Graph) -> TaskDefinition:
    """The migrations' one-off task, as the program declares it (one_off_tasks.py)."""
    return _recorded_task(recorded_graph, "migrations_task_family", MIGRATIONS_CONTAINER)


@pytest.fixture(scope="session")
def keys_task_definition(recorded_graph: Graph) -> TaskDefinition:
    """The key CLI's one-off task, as the program declares it (one_off_tasks.py)."""
    return _recorded_task(recorded_graph, "keys_task_family", KEYS_CONTAINER)


@dataclass(frozen=True)
class LocalDatabase:
    server: PostgresServer
    master: DatabaseCredentials  # of the master user, in the ``payments`` database
    # The logins the migrations make and the role secrets hold (payments_api.roles); their
    # passwords are set by the migration task (`python -m payments_api.migrate`).
    api: DatabaseCredentials  # payments_api: the API
    keys: DatabaseCredentials  # payments_keys_cli: the key CLI


@pytest.fixture(scope="session")
def database() -> Iterator[LocalDatabase]:
    """A local PostgreSQL over TLS with the role and database Aurora gets: the master user
    and the ``payments`` database it owns, not migrated (the migration task does that). The
    master user may create roles (CREATEROLE), as Aurora's is an rds_superuser. Stopped and
    deleted afterwards."""
    with PostgresServer() as server:
        master = server.create_database(MASTER_USERNAME)
        with server.connect() as conn:
            conn.execute(
                sql.SQL("ALTER ROLE {} CREATEROLE").format(sql.Identifier(MASTER_USERNAME))
            )
            conn.execute(
                sql.SQL("CREATE DATABASE {} OWNER {}").format(
                    sql.Identifier(DATABASE_NAME), sql.Identifier(MASTER_USERNAME)
                )
            )
        in_payments = dataclasses.replace(master, dbname=DATABASE_NAME)
        yield LocalDatabase(
            server,
            in_payments,
            api=in_payments.as_user(APP_LOGIN.username, secrets.token_urlsafe(24)),
            keys=in_payments.as_user(KEYS_LOGIN.username, secrets.token_urlsafe(24)),
        )


@pytest.fixture(scope="session")
def secrets_manager(recorded_graph: Graph, database: LocalDatabase) -> SecretsManagerStand:
    """Secrets Manager with the database's three secrets under the ARNs the program gave them,
    each holding the document the Database component writes (secret_document) for the local
    server: the master's, the API's login and the key CLI's. Only the port differs from what
    the component would write: Aurora's is 5432, the local server's a free one."""

    def arn(key: str) -> str:
        secret = named(
            recorded_graph, "aws:secretsmanager/secret:Secret", physical_name(key, SUFFIX)
        )
        return str(secret.outputs["arn"])

    def document(login: DatabaseCredentials, master_arn: str | None) -> str:
        written = json.loads(
            secret_document(
                login.host,
                login.password,
                physical_name("db_cluster", SUFFIX),
                username=login.user,
                master_secret_arn=master_arn,
            )
        )
        written["port"] = login.port
        written["url"] = written["url"].replace(f":{PORT}/", f":{login.port}/")
        assert set(SECRET_KEYS.values()) <= written.keys()
        return json.dumps(written)

    master_arn = arn("db_master_secret")
    assert database.master.user == MASTER_USERNAME
    assert (database.api.user, database.keys.user) == (APP_LOGIN.username, KEYS_LOGIN.username)
    return SecretsManagerStand(
        {
            master_arn: document(database.master, None),
            arn("db_app_secret"): document(database.api, master_arn),
            arn("db_keys_secret"): document(database.keys, master_arn),
        }
    )
