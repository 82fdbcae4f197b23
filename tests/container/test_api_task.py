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

The database starts empty, as a new cluster's does: before the API task starts, the
migrations run as a deploy runs them, the recorded ``migrations`` task definition run as it is
(its own command, ``python -m payments_api.migrate``; the master's secret and the two logins'
usernames and passwords injected from their secrets).

Every /api/payments request carries an API key made the way an operator makes one in AWS: a
one-off task of the recorded key task definition (``api-keys``: the same image, the key CLI's
login from its own secret, its user, read-only root and /tmp volume) with its command
overridden to ``python -m payments_api.cli.api_keys create CLIENT``, the key read from its
stdout. The API task logs in with the API's login, as its task definition injects it. It
keeps the task definition's API_KEY_CACHE_SECONDS (the image's default, 15 s): the revocation
test waits, bounded by it, for the key to stop working.
"""

from __future__ import annotations

import hashlib
import time

import httpx2
import pytest

from payments_infra.components.database.aurora import DATABASE_NAME
from payments_infra.offline.graph import Graph
from tests.container.conftest import LocalDatabase
from tests.container.fargate import CompletedTask, FargateContainer, TaskDefinition
from tests.container.one_off import KEY_FORM, OneOffTasks, create_key
from tests.container.payment_load import BODY, PaymentLoad
from tests.graph_queries import only

READY_TIMEOUT_SECONDS = 60.0
REQUEST_TIMEOUT_SECONDS = 30.0
LOAD_THREADS = 4
# Payments acknowledged before the stop, so that requests are surely flowing when it comes.
ACKNOWLEDGED_BEFORE_STOP = 20
# The API's answer to a request whose body is still arriving at SIGTERM (app/api/README.md).
SHUTDOWN_REFUSAL = '{"detail":"server shutting down, try again"}'
# What the migrations leave the database at (payments_api/migrations/versions).
HEAD_VERSION = "0002_roles"
# How late past API_KEY_CACHE_SECONDS a revocation may show: request and poll times.
REVOCATION_MARGIN_SECONDS = 10.0


def _client(base_url: str, api_key: str | None = None) -> httpx2.Client:
    """Like the ALB: HTTPS to the task without verifying its (self-signed) certificate; with
    ``api_key``, every request authenticated with it."""
    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    return httpx2.Client(
        base_url=base_url, verify=False, timeout=REQUEST_TIMEOUT_SECONDS, headers=headers
    )


def _payments_once_not(
    client: httpx2.Client, status: int, bound: float, failure: str
) -> httpx2.Response:
    """GET /api/payments until it answers other than `status` (a key's change of state
    reaching the task), for at most `bound` seconds from now."""
    started = time.monotonic()
    while (response := client.get("/api/payments")).status_code == status:
        assert time.monotonic() - started < bound, f"{failure} after {bound} s"
        time.sleep(0.2)
    return response


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


def test_migrations_run_as_a_one_off_task_and_a_second_run_changes_nothing(
    migration_task: CompletedTask, one_off_tasks: OneOffTasks, database: LocalDatabase
) -> None:
    """The deploy's migration task: the empty database migrated to the head as the master
    user, both logins given their secrets' passwords (they log in now); run again, nothing to
    do and the logins left alone. No password reaches its output."""
    assert migration_task.stdout.splitlines() == [
        "schema version before: none (an empty database)",
        f"schema version after: {HEAD_VERSION}",
        f"login {database.api.user}: password set from APP_DB_USER's secret; logs in",
        f"login {database.keys.user}: password set from KEYS_DB_USER's secret; logs in",
    ]
    again = one_off_tasks.migrate()
    assert (again.exit_code, again.stderr) == (0, ""), again
    assert again.stdout.splitlines() == [
        f"schema version before: {HEAD_VERSION}",
        f"schema version after: {HEAD_VERSION}",
        f"login {database.api.user}: logs in; left as it is",
        f"login {database.keys.user}: logs in; left as it is",
    ]
    for task in (migration_task, again):
        for secret in (database.master.password, database.api.password, database.keys.password):
            assert secret not in task.stdout + task.stderr


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


def test_payments_need_a_key_and_health_does_not(api_task: FargateContainer, base_url: str) -> None:
    """No key, or a well-formed key nobody made: the same 401 with a Bearer challenge and no
    word on why. Liveness and readiness answer without a key."""
    unknown = "pay_000000000000_" + "A" * 43
    assert KEY_FORM.fullmatch(unknown)
    with _client(base_url) as client:
        _wait_until_ready(client, api_task)  # /readyz without a key
        assert client.get("/healthz").status_code == 200
        answers = [
            client.get("/api/payments"),
            client.post("/api/payments", json=BODY, headers={"Idempotency-Key": "no-key"}),
            client.get("/api/payments", headers={"Authorization": f"Bearer {unknown}"}),
            client.get("/api/payments", headers={"Authorization": "Basic dXNlcjpwYXNz"}),
        ]
    for response in answers:
        assert response.status_code == 401, (response.request.method, response.text)
        assert response.headers["WWW-Authenticate"].startswith("Bearer"), response.headers
        assert response.json() == answers[0].json()


def test_keys_cli_runs_as_a_one_off_task_and_revocation_takes_effect(
    *,
    api_task: FargateContainer,
    base_url: str,
    one_off_tasks: OneOffTasks,
    keys_task_definition: TaskDefinition,
    api_key: str,
    api_key_cache_seconds: float,
) -> None:
    """``create``, ``list`` and ``revoke`` each run as a one-off task under the task's
    constraints (its user, not root; a read-only root filesystem). ``create`` prints the key
    alone on stdout, and the key works within API_KEY_CACHE_SECONDS; ``list`` shows its prefix,
    never the key or its hash; after ``revoke`` the key gets 401 within API_KEY_CACHE_SECONDS,
    and other keys keep working."""
    created, key = create_key(one_off_tasks, "container-revoke-test")
    assert created.user == keys_task_definition.container["user"]
    assert created.user.partition(":")[0] not in {"", "0", "root"}
    assert created.read_only_root is True
    form = KEY_FORM.fullmatch(key)
    assert form
    # The secret whole: it may itself hold "_" (urlsafe base64), so not what follows the last.
    prefix, secret = form["prefix"], form["secret"]
    assert prefix in created.stderr
    assert secret not in created.stderr

    with _client(base_url, key) as client:
        _wait_until_ready(client, api_task)
        # A new key works once the task reloads its keys: within API_KEY_CACHE_SECONDS.
        bound = api_key_cache_seconds + REVOCATION_MARGIN_SECONDS
        response = _payments_once_not(client, 401, bound, "new key refused")
        assert response.status_code == 200, response.text

        listed = one_off_tasks.keys("list")
        assert (listed.exit_code, listed.stderr) == (0, "")
        digest = hashlib.sha256(key.encode())
        for shown in (listed.stdout, listed.stderr):
            assert secret not in shown
            assert digest.hexdigest() not in shown
        (row,) = [line.split() for line in listed.stdout.splitlines() if prefix in line]
        assert row[:2] == [prefix, "container-revoke-test"]
        assert row[-1] == "-"  # not revoked

        revoked = one_off_tasks.keys("revoke", f"pay_{prefix}")
        assert revoked.exit_code == 0, revoked.stderr
        response = _payments_once_not(client, 200, bound, "key still works")
    assert response.status_code == 401, response.text
    assert response.headers["WWW-Authenticate"].startswith("Bearer")

    with _client(base_url, api_key) as client:
        assert client.get("/api/payments").status_code == 200
    listed = one_off_tasks.keys("list")
    (row,) = [line.split() for line in listed.stdout.splitlines() if prefix in line]
    assert row[-1] != "-", "list does not show the key revoked"
    unknown = one_off_tasks.keys("revoke", "000000000000")
    assert unknown.exit_code == 1


def test_creates_a_payment_and_reads_it_back(
    api_task: FargateContainer, base_url: str, api_key: str
) -> None:
    body = {"amount_minor": 2500, "currency": "EUR", "merchant_reference": "container-1"}
    with _client(base_url, api_key) as client:
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
    api_key: str,
) -> None:
    """SIGTERM while clients POST payments back to back, SIGKILL after stopTimeout: the API
    must finish what it took, exit 0, and every payment it acknowledged must be stored.

    A request whose body was still arriving when SIGTERM came is answered the documented 503
    (app/api/README.md, "Graceful stop"): the app never ran it, so nothing of it is stored,
    and its client may send it again. Which requests are in that state is a race of the
    clients against the signal, so either answer is right for a request answered after it."""
    with _client(base_url) as client:
        _wait_until_ready(client, api_task)
    load = PaymentLoad(base_url, api_key, threads=LOAD_THREADS)
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
    # Answers that came after SIGTERM was sent: requests in flight when it came, finished,
    # or (a body still arriving) refused to be sent again.
    answered_after = [o for o in outcomes if o.finished >= stop_sent and o.status is not None]
    assert answered_after, "no request was in flight when SIGTERM came"
    refused = [o for o in answered_after if o.status != 201]
    assert [
        (o.status, o.retry_after, o.error)
        for o in refused
        if (o.status, o.retry_after, o.error) != (503, "1", SHUTDOWN_REFUSAL)
    ] == []

    acknowledged = load.acknowledged_ids()
    with database.server.connect(DATABASE_NAME) as conn:
        rows = conn.execute(
            "SELECT id::text FROM payments WHERE id = ANY(%s::uuid[])", (sorted(acknowledged),)
        ).fetchall()
        stored_refused = conn.execute(
            "SELECT idempotency_key FROM payments WHERE idempotency_key = ANY(%s)",
            ([o.idempotency_key for o in refused],),
        ).fetchall()
    assert acknowledged - {row[0] for row in rows} == set()
    assert stored_refused == [], "a request refused at shutdown was stored"
