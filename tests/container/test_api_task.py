"""The API image run as the recorded task definition says, as Fargate would run it.

The task definition comes from the real program's recorded plan (``recorded_graph``), not a
copy of its values: user, read-only root filesystem, init process, CPU and memory, the /tmp
task volume with Fargate's rules (a copy of the image's /tmp when the image declares it a
VOLUME, else an empty root-owned 0755 directory), environment, secrets resolved from a stand-in
for Secrets Manager holding the Database component's secret document, the container health
check and the stop timeout (tests/container/fargate.py says what is and is not reproduced).
The database is a local PostgreSQL over TLS, which the API verifies (verify-full).

One substitution: the local test CA is bind-mounted read-only over the API's DB_SSLROOTCERT
default (/etc/ssl/certs/rds-global-bundle.pem, the RDS CA bundle in the image), because the
local server's certificate is signed by that CA, not by RDS. Everything else is the image as
built from app/api/Dockerfile (``make image``, payments-api:local; PAYMENTS_API_IMAGE picks
another), run in place of the ECR reference the recorded task definition names.

The container listens on the host network (127.0.0.1 is the only address the test uses), on
the port of the task definition (8443), which must be free.
"""

from __future__ import annotations

import shutil
import socket
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx2
import pytest

from payments_infra.components.database import DATABASE_NAME
from payments_infra.offline.graph import Graph
from tests.container.conftest import LocalDatabase
from tests.container.fargate import (
    Docker,
    FargateContainer,
    FargateRunError,
    SecretsManagerStand,
    TaskDefinition,
)
from tests.container.payment_load import PaymentLoad
from tests.graph_queries import only

READY_TIMEOUT_SECONDS = 60.0
REQUEST_TIMEOUT_SECONDS = 30.0
LOAD_THREADS = 4
# Payments acknowledged before the stop, so that requests are surely flowing when it comes.
ACKNOWLEDGED_BEFORE_STOP = 20


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
def api_task(
    *,
    docker: Docker,
    image: str,
    task_definition: TaskDefinition,
    secrets_manager: SecretsManagerStand,
    database: LocalDatabase,
    image_ca_bundle: tuple[str, str],
) -> Iterator[FargateContainer]:
    """The running, healthy container. Removed afterwards with its volume and directories."""
    _require_free_port(task_definition.port)
    ca_bundle_path, _ = image_ca_bundle
    with tempfile.TemporaryDirectory(prefix="payments-container-test-") as work:
        test_ca = Path(work) / "test-ca.pem"
        shutil.copyfile(database.server.ca_path, test_ca)
        test_ca.chmod(0o644)  # readable by the container's user
        task = FargateContainer(
            docker,
            task_definition,
            image,
            secrets_manager,
            read_only_files={ca_bundle_path: test_ca},
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
def base_url(task_definition: TaskDefinition) -> str:
    return f"https://127.0.0.1:{task_definition.port}"


def _client(base_url: str) -> httpx2.Client:
    """Like the ALB: HTTPS to the task without verifying its (self-signed) certificate."""
    return httpx2.Client(base_url=base_url, verify=False, timeout=REQUEST_TIMEOUT_SECONDS)


def _wait_until_ready(client: httpx2.Client, task: FargateContainer) -> None:
    """Live is not ready: the pool connects in the background. Poll /readyz until 200."""
    deadline = time.monotonic() + READY_TIMEOUT_SECONDS
    last = "no answer"
    while time.monotonic() < deadline:
        response = client.get("/readyz")
        if response.status_code == 200:
            return
        last = f"{response.status_code} {response.text}"
        time.sleep(0.2)
    pytest.fail(f"/readyz not 200 after {READY_TIMEOUT_SECONDS} s ({last}); log:\n{task.logs()}")


def test_image_ships_the_committed_rds_ca_bundle(
    image_ca_bundle: tuple[str, str], recorded_ca_bundle_sha256: str
) -> None:
    path, digest = image_ca_bundle
    assert path == "/etc/ssl/certs/rds-global-bundle.pem"
    assert digest == recorded_ca_bundle_sha256


def test_only_tmp_is_writable_and_it_is_the_images_1777(api_task: FargateContainer) -> None:
    assert api_task.exec("stat", "-c", "%a %U", "/tmp").stdout.split() == ["1777", "root"]
    assert api_task.exec("sh", "-c", "echo x > /tmp/probe && rm /tmp/probe").returncode == 0
    outside = api_task.exec("sh", "-c", "echo x > /opt/payments-api/probe")
    assert outside.returncode != 0
    assert "Read-only file system" in outside.stderr


def test_alb_health_check_passes(
    api_task: FargateContainer, base_url: str, recorded_graph: Graph
) -> None:
    check = only(recorded_graph, "aws:lb/targetGroup:TargetGroup").inputs["healthCheck"]
    assert check["protocol"] == "HTTPS"
    with _client(base_url) as client:
        response = client.get(check["path"])
    assert str(response.status_code) == check["matcher"]
    assert response.json()["status"] == "ok"


def test_creates_a_payment_and_reads_it_back(api_task: FargateContainer, base_url: str) -> None:
    body = {"amount_minor": 2500, "currency": "EUR", "merchant_reference": "container-1"}
    with _client(base_url) as client:
        _wait_until_ready(client, api_task)
        created = client.post(
            "/api/payments", json=body, headers={"Idempotency-Key": "container-round-trip"}
        )
        assert created.status_code == 201, created.text
        payment = created.json()
        assert {key: payment[key] for key in body} == body
        read = client.get(f"/api/payments/{payment['id']}")
    assert read.status_code == 200
    assert read.json() == payment


def test_stops_like_ecs_with_requests_in_flight_and_loses_no_payment(
    api_task: FargateContainer,
    base_url: str,
    database: LocalDatabase,
    task_definition: TaskDefinition,
) -> None:
    """SIGTERM while clients POST payments back to back, SIGKILL after stopTimeout: the API
    must finish what it took, exit 0, and every payment it acknowledged must be stored."""
    with _client(base_url) as client:
        _wait_until_ready(client, api_task)
    load = PaymentLoad(base_url, threads=LOAD_THREADS)
    load.start()
    try:
        load.wait_for_acknowledged(ACKNOWLEDGED_BEFORE_STOP, timeout=READY_TIMEOUT_SECONDS)
        stop_sent = time.monotonic()
        stopped = api_task.stop()
    finally:
        load.finish(timeout=REQUEST_TIMEOUT_SECONDS + 5)
    log = api_task.logs()

    assert (stopped.exit_code, stopped.oom_killed) == (0, False), log
    assert stopped.seconds < task_definition.stop_timeout, "stopped by SIGKILL, not SIGTERM"
    outcomes = load.outcomes
    before_stop = [o for o in outcomes if o.finished < stop_sent]
    assert [o for o in before_stop if o.status != 201] == []
    # Answers that came after SIGTERM was sent: requests in flight when it came, finished.
    answered_after = [o for o in outcomes if o.finished >= stop_sent and o.status is not None]
    assert answered_after, "no request was in flight when SIGTERM came"
    assert [o for o in answered_after if o.status != 201] == []

    acknowledged = load.acknowledged_ids()
    with database.server.connect(DATABASE_NAME) as conn:
        rows = conn.execute(
            "SELECT id::text FROM payments WHERE id = ANY(%s::uuid[])", (sorted(acknowledged),)
        ).fetchall()
    assert acknowledged - {row[0] for row in rows} == set()
