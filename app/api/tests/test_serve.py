"""The entry point: HTTPS with a generated certificate, and graceful shutdown on SIGTERM."""

import stat
import threading
import time
from pathlib import Path

import httpx2
from payments_local_servers.api import ApiServer, AppDatabase
from payments_local_servers.postgres import PostgresServer

from payments_api.serve import write_self_signed_certificate
from tests.utils.payments import idempotency_headers, payment_body
from tests.utils.settings import server_env

GRACE_SECONDS = 5


def test_server_answers_https_with_a_certificate_for_localhost(api_server: ApiServer) -> None:
    with api_server.client() as http:  # verifies the chain and 127.0.0.1 against the cert
        assert http.get("/healthz").json()["status"] == "ok"


def test_private_key_is_readable_by_its_owner_only(tmp_path: Path) -> None:
    _, key_path = write_self_signed_certificate(tmp_path)
    assert stat.S_IMODE(key_path.stat().st_mode) == 0o600


def test_sigterm_keeps_every_acknowledged_payment_and_exits_zero(
    postgres: PostgresServer, app_database: AppDatabase, api_key: str, tmp_path: Path
) -> None:
    env = server_env(app_database, TIMEOUT_GRACEFUL_SHUTDOWN=str(GRACE_SECONDS))
    server = ApiServer(env, tmp_path)
    server.start()
    server.wait_until_ready()  # live is not enough: the bursts need the database
    acknowledged: list[str] = []
    lock = threading.Lock()
    deadline = time.monotonic() + 60  # only bounds a failure: the wait below ends at 40

    def burst() -> None:
        with server.client(api_key) as http:
            for _ in range(200):  # bounded; stops at the first refused request anyway
                if time.monotonic() > deadline:
                    return
                try:
                    response = http.post(
                        "/api/payments", json=payment_body(), headers=idempotency_headers()
                    )
                except httpx2.TransportError:
                    return
                if response.status_code == 201:
                    with lock:
                        acknowledged.append(response.json()["id"])

    threads = [threading.Thread(target=burst) for _ in range(8)]
    try:
        for thread in threads:
            thread.start()
        while len(acknowledged) < 40 and time.monotonic() < deadline:
            time.sleep(0.01)
        server.terminate()
        stopped_at = time.monotonic()
        assert server.process is not None
        exit_code = server.process.wait(timeout=GRACE_SECONDS + 10)
        shutdown_seconds = time.monotonic() - stopped_at
        for thread in threads:
            thread.join(timeout=10)
    finally:
        server.stop()

    assert exit_code == 0, server.output()[-2000:]
    assert shutdown_seconds < GRACE_SECONDS
    assert len(acknowledged) >= 40
    with postgres.connect(app_database.master.dbname) as conn:
        stored = conn.execute(
            "SELECT count(*) FROM payments WHERE id = ANY(%s::uuid[])", (acknowledged,)
        ).fetchone()
    assert stored == (len(acknowledged),)
