"""Fixtures for the container tests: Docker, the built image, the recorded task definition,
a local PostgreSQL over TLS and the stand-in for Secrets Manager.

Nothing here is skipped: without Docker or the image the tests fail with one sentence that
says what to do (`make image`; CI builds it before running them).
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from payments_local_servers.postgres import DatabaseCredentials, PostgresServer
from psycopg import sql

from payments_infra import REPO_ROOT
from payments_infra.aws.naming import physical_name
from payments_infra.components.database import (
    DATABASE_NAME,
    MASTER_USERNAME,
    PORT,
    SECRET_KEYS,
    secret_document,
)
from payments_infra.components.service import CONTAINER_NAME
from payments_infra.offline.graph import Graph
from tests.container.fargate import Docker, SecretsManagerStand, TaskDefinition
from tests.graph_queries import named, only
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


@pytest.fixture(scope="session")
def task_definition(recorded_graph: Graph) -> TaskDefinition:
    """The API container as the program declares it (not a copy of its values)."""
    inputs = only(recorded_graph, "aws:ecs/taskDefinition:TaskDefinition").inputs
    return TaskDefinition.from_inputs(inputs, CONTAINER_NAME)


@dataclass(frozen=True)
class LocalDatabase:
    server: PostgresServer
    master: DatabaseCredentials  # of the master user


@pytest.fixture(scope="session")
def database() -> Iterator[LocalDatabase]:
    """A local PostgreSQL over TLS with the role and database Aurora gets: the master user
    and the ``payments`` database it owns. Stopped and deleted afterwards."""
    with PostgresServer() as server:
        master = server.create_database(MASTER_USERNAME)
        with server.connect() as conn:
            conn.execute(
                sql.SQL("CREATE DATABASE {} OWNER {}").format(
                    sql.Identifier(DATABASE_NAME), sql.Identifier(MASTER_USERNAME)
                )
            )
        yield LocalDatabase(server, master)


@pytest.fixture(scope="session")
def secrets_manager(recorded_graph: Graph, database: LocalDatabase) -> SecretsManagerStand:
    """Secrets Manager with the database secret under the ARN the program gave it, holding the
    document the Database component writes (secret_document) for the local server. Only the
    port differs from what the component would write: Aurora's is 5432, the local server's a
    free one."""
    secret = named(
        recorded_graph, "aws:secretsmanager/secret:Secret", physical_name("db_secret", SUFFIX)
    )
    master = database.master
    document = json.loads(
        secret_document(master.host, master.password, physical_name("db_cluster", SUFFIX))
    )
    document["port"] = master.port
    document["url"] = document["url"].replace(f":{PORT}/", f":{master.port}/")
    assert set(SECRET_KEYS.values()) <= document.keys()
    return SecretsManagerStand({secret.outputs["arn"]: json.dumps(document)})
