"""Liveness and readiness, with a working and a misconfigured database."""

import logging
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from payments_local_servers.api import API_LOGIN, ApiServer, AppDatabase
from payments_local_servers.certificates import generate_ca
from payments_local_servers.postgres import PostgresServer

from payments_api.db import RUN_THE_MIGRATIONS
from payments_api.main import create_app
from tests.utils.databases import create_unmigrated_database
from tests.utils.keys import bearer
from tests.utils.settings import server_env, settings_for


def test_liveness_reports_ok_the_version_and_no_commit_when_unset(client: TestClient) -> None:
    response = client.get("/healthz")
    assert (response.status_code, response.json()) == (
        200,
        {"status": "ok", "version": "0.1.0", "commit": None},
    )


def test_liveness_version_comes_from_app_version(app_database: AppDatabase) -> None:
    with TestClient(create_app(settings_for(app_database, app_version="1.2.3"))) as client:
        assert client.get("/healthz").json()["version"] == "1.2.3"


COMMIT = "0123456789abcdef0123456789abcdef01234567"


@pytest.mark.parametrize("commit", [COMMIT, f"{COMMIT}-dirty"])
def test_liveness_reports_the_commit_the_image_was_built_from(
    app_database: AppDatabase, commit: str
) -> None:
    with TestClient(create_app(settings_for(app_database, git_commit=commit))) as client:
        assert client.get("/api/healthz").json() == {
            "status": "ok",
            "version": "0.1.0",
            "commit": commit,
        }


def test_the_server_reads_git_commit_from_its_environment_and_logs_it_at_start(
    app_database: AppDatabase, api_server: ApiServer, tmp_path: Path
) -> None:
    # What the image's ENV GIT_COMMIT does in a task: the real server, its real environment.
    with ApiServer(server_env(app_database, GIT_COMMIT=COMMIT), tmp_path) as server:
        with server.client() as http:
            assert http.get("/healthz").json()["commit"] == COMMIT
        [start] = [r for r in server.log_records() if r["message"] == "starting HTTPS server"]
    assert (start["version"], start["commit"]) == ("0.1.0", COMMIT)
    with api_server.client() as http:  # the session's server has no GIT_COMMIT: null
        assert http.get("/healthz").json()["commit"] is None


def test_readiness_is_ready_when_the_database_answers(client: TestClient) -> None:
    response = client.get("/readyz")
    assert (response.status_code, response.json()) == (200, {"status": "ready"})


@pytest.mark.parametrize("path", ["/api/healthz", "/api/readyz"])
def test_health_routes_answer_under_the_api_prefix_too(client: TestClient, path: str) -> None:
    assert client.get(path).status_code == 200


@pytest.fixture
def unreachable_client(app_database: AppDatabase, api_key: str) -> Iterator[TestClient]:
    # Nothing listens on 127.0.0.2: the server binds 127.0.0.1 only. The key is valid, but
    # checking it needs the database.
    settings = settings_for(app_database, db_host="127.0.0.2", db_pool_timeout=0.5)
    with TestClient(create_app(settings), headers=bearer(api_key)) as client:
        yield client


def logged_readiness_reason(client: TestClient, caplog: pytest.LogCaptureFixture) -> str:
    """GET /readyz: check the public 503 says only "database unavailable", and return the
    reason the readiness route logged."""
    with caplog.at_level(logging.WARNING, logger="payments_api.routes.health"):
        response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json() == {"status": "unavailable", "reason": "database unavailable"}
    [record] = [r for r in caplog.records if r.name == "payments_api.routes.health"]
    reason: str = record.__dict__["reason"]
    assert reason not in response.text
    return reason


def test_readiness_logs_the_unreachable_host_and_tells_the_public_nothing(
    unreachable_client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    reason = logged_readiness_reason(unreachable_client, caplog)
    assert 'connection to server at "127.0.0.2"' in reason
    assert "Connection refused" in reason


def test_liveness_stays_ok_while_the_database_is_unreachable(
    unreachable_client: TestClient,
) -> None:
    assert unreachable_client.get("/healthz").status_code == 200


def test_payment_routes_answer_503_while_the_database_is_unreachable(
    unreachable_client: TestClient,
) -> None:
    response = unreachable_client.get("/api/payments")
    assert response.status_code == 503
    assert response.json() == {"detail": "database unavailable, try again later"}


def test_readiness_logs_a_certificate_from_an_unknown_ca(
    app_database: AppDatabase, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    other_ca = tmp_path / "other-ca.pem"
    other_ca.write_bytes(generate_ca("some other CA").cert_pem)
    settings = settings_for(app_database, db_sslrootcert=str(other_ca), db_pool_timeout=0.5)
    with TestClient(create_app(settings)) as client:
        assert "certificate verify failed" in logged_readiness_reason(client, caplog)


def test_readiness_logs_a_missing_ca_file(
    app_database: AppDatabase, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    missing = tmp_path / "missing.pem"
    settings = settings_for(app_database, db_sslrootcert=str(missing), db_pool_timeout=0.5)
    with TestClient(create_app(settings)) as client:
        reason = logged_readiness_reason(client, caplog)
    assert "root certificate file" in reason
    assert str(missing) in reason


def test_readiness_logs_a_rejected_password_without_the_password(
    app_database: AppDatabase, caplog: pytest.LogCaptureFixture
) -> None:
    wrong = "wrong-password-5c1e"
    settings = settings_for(app_database, db_password=wrong, db_pool_timeout=0.5)
    with TestClient(create_app(settings)) as client:
        reason = logged_readiness_reason(client, caplog)
    assert "password authentication failed" in reason
    assert wrong not in reason


def test_readiness_says_to_run_the_migrations_when_the_tables_are_missing(
    postgres: PostgresServer, app_database: AppDatabase, caplog: pytest.LogCaptureFixture
) -> None:
    """A database the deploy did not migrate (the login exists: the server's other databases
    made it): /readyz and the payment routes answer 503, and the log says what to do."""
    master = create_unmigrated_database(postgres, f"payments_{uuid.uuid4().hex[:12]}")
    api = master.as_user(API_LOGIN, postgres.role_password(API_LOGIN))
    settings = settings_for(AppDatabase(master, api, api), db_pool_timeout=0.5)
    unknown_key = "pay_000000000000_" + "A" * 43
    with TestClient(create_app(settings), headers=bearer(unknown_key)) as client:
        reason = logged_readiness_reason(client, caplog)
        payments = client.get("/api/payments")
    assert 'relation "payments" does not exist' in reason
    assert reason.endswith(RUN_THE_MIGRATIONS)
    assert "python -m payments_api.migrate" in RUN_THE_MIGRATIONS
    assert payments.status_code == 503
    assert payments.json() == {"detail": "database unavailable, try again later"}


def test_readiness_says_which_role_the_api_must_log_in_as(
    app_database: AppDatabase, caplog: pytest.LogCaptureFixture
) -> None:
    """Logged in as the key CLI's login, which may not read payments."""
    keys = app_database.keys
    settings = settings_for(
        app_database, db_user=keys.user, db_password=keys.password, db_pool_timeout=0.5
    )
    with TestClient(create_app(settings)) as client:
        reason = logged_readiness_reason(client, caplog)
    assert "permission denied for table payments" in reason
    assert reason.endswith(RUN_THE_MIGRATIONS)
    assert "a login of payments_app" in reason
