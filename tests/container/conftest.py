"""Fixtures for the container tests: Docker, the built image, the recorded task definition,
a local PostgreSQL over TLS and the stand-in for Secrets Manager; and, per test module, the API
task running on them, the one-off tasks (tests/container/one_off.py) and an API key.

Nothing here is skipped: without Docker or the image the tests fail with one sentence that
says what to do (`make image`; CI builds it before running them).
"""

from __future__ import annotations

import dataclasses
import json
import os
import secrets
import shutil
import socket
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest
from payments_local_servers.postgres import DatabaseCredentials, PostgresServer
from psycopg import sql

from payments_infra import REPO_ROOT
from payments_infra.components.api.migration_runner import MIGRATIONS_CONTAINER
from payments_infra.components.api.one_off_tasks import KEYS_CONTAINER
from payments_infra.components.api.task_definition import CONTAINER_NAME
from payments_infra.components.database.aurora import (
    APP_LOGIN,
    DATABASE_NAME,
    KEYS_LOGIN,
    MASTER_USERNAME,
    PORT,
    SECRET_KEYS,
    secret_document,
)
from payments_infra.config.naming import Names, PhysicalName, physical_name
from payments_infra.offline.graph import Graph
from tests.container.fargate import (
    CompletedTask,
    Docker,
    FargateContainer,
    FargateRunError,
    SecretsManagerStand,
    TaskDefinition,
)
from tests.container.one_off import OneOffTasks, create_key
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


def _recorded_task(graph: Graph, family_name: PhysicalName, container: str) -> TaskDefinition:
    family = physical_name(family_name, SUFFIX)
    (task,) = [
        t
        for t in graph.of_type("aws:ecs/taskDefinition:TaskDefinition")
        if t.inputs.get("family") == family
    ]
    return TaskDefinition.from_inputs(task.inputs, container)


@pytest.fixture(scope="session")
def task_definition(recorded_graph: Graph) -> TaskDefinition:
    """The API container as the program declares it (not a copy of its values)."""
    return _recorded_task(recorded_graph, Names.task_family, CONTAINER_NAME)


@pytest.fixture(scope="session")
def migrations_task_definition(recorded_graph: Graph) -> TaskDefinition:
    """The migrations' one-off task, as the program declares it (one_off_tasks.py)."""
    return _recorded_task(recorded_graph, Names.migrations_task_family, MIGRATIONS_CONTAINER)


@pytest.fixture(scope="session")
def keys_task_definition(recorded_graph: Graph) -> TaskDefinition:
    """The key CLI's one-off task, as the program declares it (one_off_tasks.py)."""
    return _recorded_task(recorded_graph, Names.keys_task_family, KEYS_CONTAINER)


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

    def arn(entry: PhysicalName) -> str:
        secret = named(
            recorded_graph, "aws:secretsmanager/secret:Secret", physical_name(entry, SUFFIX)
        )
        return str(secret.outputs["arn"])

    def document(login: DatabaseCredentials, master_arn: str | None) -> str:
        written = json.loads(
            secret_document(
                login.host,
                login.password,
                physical_name(Names.db_cluster, SUFFIX),
                username=login.user,
                master_secret_arn=master_arn,
            )
        )
        written["port"] = login.port
        written["url"] = written["url"].replace(f":{PORT}/", f":{login.port}/")
        assert set(SECRET_KEYS.values()) <= written.keys()
        return json.dumps(written)

    master_arn = arn(Names.db_master_secret)
    assert database.master.user == MASTER_USERNAME
    assert (database.api.user, database.keys.user) == (APP_LOGIN.username, KEYS_LOGIN.username)
    return SecretsManagerStand(
        {
            master_arn: document(database.master, None),
            arn(Names.db_app_secret): document(database.api, master_arn),
            arn(Names.db_keys_secret): document(database.keys, master_arn),
        }
    )


# -- the API task and the one-off tasks, once per test module ----------------------------------


def _require_free_port(port: int) -> None:
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds
        try:
            sock.bind(("0.0.0.0", port))
        except OSError:
            pytest.fail(
                f"Port {port} is in use on this host; the container listens on it on the host "
                "network (as a task does on its own network interface): free it.",
                pytrace=False,
            )


@pytest.fixture(scope="module")
def database_ca_override(
    database: LocalDatabase, image_ca_bundle: tuple[str, str]
) -> Iterator[Mapping[str, Path]]:
    """The one substitution: the local test CA, read-only over the image's DB_SSLROOTCERT."""
    ca_bundle_path, _ = image_ca_bundle
    with tempfile.TemporaryDirectory(prefix="payments-container-test-") as work:
        test_ca = Path(work) / "test-ca.pem"
        shutil.copyfile(database.server.ca_path, test_ca)
        test_ca.chmod(0o644)  # readable by the container's user
        yield {ca_bundle_path: test_ca}


@pytest.fixture(scope="module")
def api_task(
    *,
    docker: Docker,
    image: str,
    task_definition: TaskDefinition,
    secrets_manager: SecretsManagerStand,
    database_ca_override: Mapping[str, Path],
    migration_task: CompletedTask,
    api_key: str,
) -> Iterator[FargateContainer]:
    """The running, healthy container, logged in as payments_api on the migrated database.
    `api_key` is made first: the API loads the keys at its first authenticated request, and
    sees a newer one only at its next load (API_KEY_CACHE_SECONDS). Removed afterwards with
    its volume and directories."""
    _require_free_port(task_definition.port)
    task = FargateContainer(
        docker,
        task_definition,
        image,
        secrets_manager,
        read_only_files=database_ca_override,
    )
    with task:
        failure = None
        try:
            task.start()
            task.wait_until_healthy()
        except FargateRunError as error:
            failure = f"{image} run as the task definition says: {error}"
        if failure:  # outside the except block: one message, not a chain of two
            pytest.fail(failure, pytrace=False)
        yield task


@pytest.fixture(scope="module")
def one_off_tasks(
    *,
    docker: Docker,
    image: str,
    migrations_task_definition: TaskDefinition,
    keys_task_definition: TaskDefinition,
    secrets_manager: SecretsManagerStand,
    database_ca_override: Mapping[str, Path],
) -> OneOffTasks:
    return OneOffTasks(
        docker=docker,
        migrations_task=migrations_task_definition,
        keys_task=keys_task_definition,
        image=image,
        secrets=secrets_manager,
        read_only_files=database_ca_override,
    )


@pytest.fixture(scope="module")
def migration_task(one_off_tasks: OneOffTasks) -> CompletedTask:
    """The deploy's migration task, run once on the empty database before anything else."""
    migrated = one_off_tasks.migrate()
    assert (migrated.exit_code, migrated.oom_killed) == (0, False), migrated
    return migrated


@pytest.fixture(scope="module")
def api_key(one_off_tasks: OneOffTasks, migration_task: CompletedTask) -> str:
    """A key for the client ``container-test``, made by a one-off task as an operator would."""
    _, key = create_key(one_off_tasks, "container-test")
    return key


@pytest.fixture(scope="module")
def api_key_cache_seconds(docker: Docker, image: str, task_definition: TaskDefinition) -> float:
    """API_KEY_CACHE_SECONDS as the API task has it: the task definition's value, else the
    default of the image's own settings module."""
    for variable in task_definition.container.get("environment", []):
        if variable["name"] == "API_KEY_CACHE_SECONDS":
            return float(variable["value"])
    script = (
        "from payments_api.settings import Settings; "
        "print(Settings.model_fields['api_key_cache_seconds'].default)"
    )
    result = docker.run("run", "--rm", "--network=none", "--entrypoint=python", image, "-c", script)
    return float(result.stdout)


@pytest.fixture(scope="module")
def base_url(task_definition: TaskDefinition) -> str:
    return f"https://127.0.0.1:{task_definition.port}"
