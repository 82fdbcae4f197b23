"""The application factory: CORS and OpenAPI names."""

from fastapi.testclient import TestClient
from payments_local_servers.api import AppDatabase

from payments_api.main import create_app
from tests.utils.settings import settings_for

ORIGIN = "https://web.example"
PREFLIGHT = {"Origin": ORIGIN, "Access-Control-Request-Method": "POST"}


def test_no_cors_headers_without_allowed_origins(client: TestClient) -> None:
    response = client.get("/healthz", headers={"Origin": ORIGIN})
    assert "access-control-allow-origin" not in response.headers


def test_allowed_origin_may_post_with_an_idempotency_key(
    app_database: AppDatabase,
) -> None:
    settings = settings_for(app_database, cors_allowed_origins=[ORIGIN])
    with TestClient(create_app(settings)) as client:
        response = client.options(
            "/api/payments",
            headers={**PREFLIGHT, "Access-Control-Request-Headers": "content-type,idempotency-key"},
        )
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == ORIGIN


def test_other_origin_gets_no_cors_grant(app_database: AppDatabase) -> None:
    settings = settings_for(app_database, cors_allowed_origins=[ORIGIN])
    with TestClient(create_app(settings)) as client:
        response = client.get("/healthz", headers={"Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in response.headers


def test_openapi_operation_ids_are_tag_and_function_name(client: TestClient) -> None:
    paths = client.get("/api/openapi.json").json()["paths"]
    operation_ids = sorted(op["operationId"] for path in paths.values() for op in path.values())
    assert operation_ids == [
        "health-liveness",
        "health-readiness",
        "payments-create_payment",
        "payments-read_payment",
        "payments-read_payments",
    ]
