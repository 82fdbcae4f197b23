"""The OpenAPI document committed for the web app is the API's own.

app/web generates its TypeScript types (src/api/schema.d.ts) from src/api/openapi.json, and its
`npm run check:types` holds the types to that file; this holds the file to the API. When it
fails, regenerate both (scripts/export_openapi.py says how) and commit them.
"""

import json

import pytest
from fastapi.testclient import TestClient

from scripts.export_openapi import WEB_OPENAPI, openapi_document, openapi_json

REGENERATE = (
    "run `../../.venv/bin/python -m scripts.export_openapi` in app/api, then "
    "`npm run gen:types` in app/web, and commit both files"
)


def test_committed_openapi_document_is_the_apis() -> None:
    assert WEB_OPENAPI.exists(), f"{WEB_OPENAPI} is missing: {REGENERATE}"
    committed = WEB_OPENAPI.read_text()
    assert json.loads(committed) == openapi_document(), f"{WEB_OPENAPI} is stale: {REGENERATE}"
    assert committed == openapi_json(), f"{WEB_OPENAPI} is not formatted as written: {REGENERATE}"


def test_document_does_not_depend_on_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    without = openapi_json()
    monkeypatch.setenv("APP_VERSION", "9.9.9")
    monkeypatch.setenv("CORS_ALLOWED_ORIGINS", "https://example.test")
    assert openapi_json() == without


def test_the_document_is_public_and_there_is_no_swagger_ui(client: TestClient) -> None:
    # The contract holds no secret; Swagger UI would load third-party JavaScript.
    anonymous = {"Authorization": ""}
    assert client.get("/api/openapi.json", headers=anonymous).status_code == 200
    assert client.get("/api/docs", headers=anonymous).status_code == 404


def test_every_payments_operation_declares_the_bearer_scheme_and_its_401() -> None:
    document = openapi_document()
    assert document["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            if path.startswith("/api/payments"):
                assert operation["security"] == [{"bearerAuth": []}], (method, path)
                assert {"401", "503"} <= operation["responses"].keys(), (method, path)
            else:
                assert "security" not in operation, (method, path)


def test_the_document_says_what_clients_get_when_refused_or_left_unsure() -> None:
    document = openapi_document()
    create = document["paths"]["/api/payments"]["post"]
    [key] = [p for p in create["parameters"] if p["name"] == "Idempotency-Key"]
    assert "card number" in key["description"] and "422" in key["description"]
    assert "outcome unknown" in create["description"]
    assert "same key" in create["description"]
    assert "Retry-After" in create["responses"]["503"]["description"]
    assert "repeated" in create["responses"]["400"]["description"]
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            if path.startswith("/api/payments"):
                refused = operation["responses"]["422"]
                assert "UTF-8" in refused["description"], (method, path)
                schema = refused["content"]["application/json"]["schema"]
                assert schema == {"$ref": "#/components/schemas/ValidationFailure"}
