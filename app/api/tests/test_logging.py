"""JSON logs of the real server (subprocess) and of the formatter."""

import json
import logging
import uuid

from payments_local_servers.api import ApiServer, AppDatabase

from payments_api.request_log import JsonFormatter
from tests.utils.payments import idempotency_headers, new_idempotency_key, payment_body

REQUEST_FIELDS = {"request_id", "method", "path", "status", "latency_ms"}


def test_request_is_logged_as_one_json_line_with_the_request_fields(
    api_server: ApiServer, api_key: str
) -> None:
    request_id = new_idempotency_key("test")
    with api_server.client(api_key) as http:
        http.post(
            "/api/payments",
            json=payment_body(),
            headers={**idempotency_headers(), "X-Request-Id": request_id},
        )
    records = api_server.wait_for_log_records(request_id)
    assert len(records) == 1, records
    record = records[0]
    assert REQUEST_FIELDS <= record.keys()
    assert (record["method"], record["path"], record["status"]) == ("POST", "/api/payments", 201)
    assert isinstance(record["latency_ms"], float | int)
    assert record["client_id"] == "test-client"  # who did it


def test_an_unauthenticated_request_is_logged_without_a_client(api_server: ApiServer) -> None:
    request_id = new_idempotency_key("test")
    with api_server.client() as http:
        http.get("/api/payments", headers={"X-Request-Id": request_id})
    [record] = api_server.wait_for_log_records(request_id)
    assert record["status"] == 401
    assert "client_id" not in record
    assert "key_prefix" not in record


def test_the_line_names_the_key_by_its_prefix_never_its_secret(
    api_server: ApiServer, api_key: str
) -> None:
    # What one leaked key did is found by its prefix (docs/deploy.md, compromised API key).
    _, prefix, secret = api_key.split("_", 2)
    request_ids = [f"test-{uuid.uuid4()}" for _ in range(2)]
    with api_server.client(api_key) as http:
        created = http.post(
            "/api/payments",
            json=payment_body(),
            headers={**idempotency_headers(), "X-Request-Id": request_ids[0]},
        )
        http.get(f"/api/payments/{created.json()['id']}", headers={"X-Request-Id": request_ids[1]})
    for request_id in request_ids:
        [record] = api_server.wait_for_log_records(request_id)
        assert (record["client_id"], record["key_prefix"]) == ("test-client", prefix), record
    assert secret not in api_server.output()


def test_a_wrong_secret_behind_a_known_prefix_logs_no_prefix(
    api_server: ApiServer, api_key: str
) -> None:
    # Only a key that authenticated is named: a refused one names nobody.
    request_id = new_idempotency_key("test")
    forged = api_key[: len("pay_") + 12] + "_" + "A" * 43
    with api_server.client(forged) as http:
        http.get("/api/payments", headers={"X-Request-Id": request_id})
    [record] = api_server.wait_for_log_records(request_id)
    assert record["status"] == 401
    assert "key_prefix" not in record and "client_id" not in record


def test_client_request_id_is_echoed_in_the_response(api_server: ApiServer) -> None:
    with api_server.client() as http:
        response = http.get("/healthz", headers={"X-Request-Id": "abc-123"})
    assert response.headers["X-Request-Id"] == "abc-123"


def test_request_id_is_generated_when_the_client_sends_none(api_server: ApiServer) -> None:
    with api_server.client() as http:
        response = http.get("/healthz")
    assert len(response.headers["X-Request-Id"]) == 32


def test_overlong_request_id_is_replaced(api_server: ApiServer) -> None:
    with api_server.client() as http:
        response = http.get("/healthz", headers={"X-Request-Id": "x" * 200})
    assert response.headers["X-Request-Id"] != "x" * 200


def test_request_body_and_api_key_are_not_logged(api_server: ApiServer, api_key: str) -> None:
    reference = f"secret-ref-{uuid.uuid4().hex[:8]}"
    request_id = new_idempotency_key("test")
    with api_server.client(api_key) as http:
        response = http.post(
            "/api/payments",
            json=payment_body(merchant_reference=reference),
            headers={**idempotency_headers(), "X-Request-Id": request_id},
        )
    assert response.status_code == 201
    assert api_server.wait_for_log_records(request_id), "the request was not logged at all"
    assert reference not in api_server.output()
    assert api_key not in api_server.output()
    assert api_key.split("_", 2)[2] not in api_server.output()  # not even the secret part


def test_server_output_never_contains_the_database_password(
    api_server: ApiServer, app_database: AppDatabase
) -> None:
    request_id = new_idempotency_key("test")
    with api_server.client() as http:
        http.get("/readyz", headers={"X-Request-Id": request_id})
    assert api_server.wait_for_log_records(request_id), "the request was not logged at all"
    assert app_database.api.password not in api_server.output()


def test_formatter_writes_extra_fields_as_json_keys() -> None:
    record = logging.makeLogRecord({"msg": "hello %s", "args": ("world",), "levelname": "INFO"})
    record.request_id = "r1"
    entry = json.loads(JsonFormatter().format(record))
    assert (entry["message"], entry["level"], entry["request_id"]) == ("hello world", "INFO", "r1")
