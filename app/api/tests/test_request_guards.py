"""What the API answers to requests it refuses before or while reading them: unknown field
names in the 422 (never a card number), JSON bodies that are not UTF-8 or that the parser
cannot take (422 `json_invalid`), a trailing slash (404, no redirect), a repeated
`Authorization`, `Idempotency-Key` or `X-Request-Id` (400, before authentication) and the
`Allow` header of a 405."""

import json
import sys
import uuid
from typing import Any

import pytest
from fastapi.routing import iter_route_contexts
from fastapi.testclient import TestClient
from payments_local_servers.api import ApiServer

from payments_api.main import WITHHELD_LOC, create_app, safe_loc
from payments_api.request_guards import MAX_JSON_DEPTH, SECURITY_HEADERS
from payments_api.settings import Settings
from tests.utils.api_server import raw_exchange
from tests.utils.keys import bearer
from tests.utils.payments import CARD, idempotency_headers, payment_body

JSON = {"Content-Type": "application/json"}


def _post(client: TestClient, body: bytes | str, **headers: str) -> Any:
    return client.post(
        "/api/payments", content=body, headers={**JSON, **idempotency_headers(), **headers}
    )


def _only_entry(response: Any) -> dict[str, Any]:
    assert response.status_code == 422, response.text
    [entry] = response.json()["detail"]
    return dict(entry)


def _has_security_headers(headers: Any) -> bool:
    return all(headers.get(name) == value for name, value in SECURITY_HEADERS.items())


# 1. Unknown field names in the 422

CARD_KEYS = [CARD, "4111-1111-1111-1111", "\uff14" + "\uff11" * 15, "card 4111 1111 1111 1111"]


@pytest.mark.parametrize("key", CARD_KEYS)
def test_an_unknown_field_named_by_a_card_number_is_not_echoed(
    client: TestClient, key: str
) -> None:
    response = _post(client, json.dumps({**payment_body(), key: "x"}, ensure_ascii=False))
    entry = _only_entry(response)
    assert entry["type"] == "extra_forbidden"
    assert entry["loc"] == ["body", WITHHELD_LOC]
    assert "4111" not in response.text and "\uff11" not in response.text


def test_a_card_number_key_nested_under_an_unknown_card_number_key_is_not_echoed(
    client: TestClient,
) -> None:
    response = _post(client, json.dumps({**payment_body(), CARD: {CARD: {CARD: 1}}}))
    assert _only_entry(response)["loc"] == ["body", WITHHELD_LOC]
    assert "4111" not in response.text


def test_a_nested_loc_withholds_every_key_that_is_not_a_name() -> None:
    known = frozenset({"body", "header", "Idempotency-Key", "amount_minor"})
    loc = ("body", "meta", CARD, 3, "4111.1111.1111.1111", "field2", "amount_minor")
    assert safe_loc(loc, known) == [
        "body",
        "meta",
        WITHHELD_LOC,
        3,
        WITHHELD_LOC,
        WITHHELD_LOC,
        "amount_minor",
    ]
    assert safe_loc(("header", "Idempotency-Key"), known) == ["header", "Idempotency-Key"]


def test_an_unknown_field_with_a_plain_name_is_still_named(client: TestClient) -> None:
    response = _post(client, json.dumps({**payment_body(), "card_number": CARD}))
    assert _only_entry(response)["loc"] == ["body", "card_number"]
    assert "4111" not in response.text


# 2. JSON that is not UTF-8


ENCODINGS = ["utf-16", "utf-16-le", "utf-16-be", "utf-32", "utf-32-le", "utf-32-be", "utf-8-sig"]


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_json_in_another_encoding_than_utf8_or_with_a_bom_is_refused(
    client: TestClient, encoding: str
) -> None:
    response = _post(client, json.dumps(payment_body()).encode(encoding))
    entry = _only_entry(response)
    assert entry["type"] == "json_invalid"
    assert entry["msg"] == ("the body must be JSON in UTF-8 (RFC 8259), without a byte order mark")


# 3. Bodies the JSON parser cannot take: documented 422s, not FastAPI's 400


def test_invalid_utf8_is_a_422(client: TestClient) -> None:
    response = _post(client, b'{"amount_minor": 1999, "merchant_reference": "\xff"}')
    entry = _only_entry(response)
    assert (entry["type"], entry["msg"]) == ("json_invalid", "the body is not valid UTF-8")


def test_utf8_encoded_surrogates_are_invalid_utf8(client: TestClient) -> None:
    # CESU-8: Python's json.loads(bytes) decodes these with surrogatepass.
    response = _post(client, b'{"merchant_reference": "\xed\xa0\x80"}')
    assert _only_entry(response)["msg"] == "the body is not valid UTF-8"


def test_an_integer_over_the_digit_limit_is_a_422_without_the_number(client: TestClient) -> None:
    digits = "4" * (sys.get_int_max_str_digits() + 1)
    response = _post(client, '{"amount_minor": ' + digits + "}")
    entry = _only_entry(response)
    assert entry["type"] == "json_invalid"
    assert entry["msg"] == f"a JSON number has more than {sys.get_int_max_str_digits()} digits"
    assert "4444" not in response.text


@pytest.mark.parametrize("opening", ["[", '{"a": '])
def test_nesting_past_the_bound_is_a_422(client: TestClient, opening: str) -> None:
    closing = "]" if opening == "[" else "}"
    depth = MAX_JSON_DEPTH + 1
    response = _post(client, opening * depth + "1" + closing * depth)
    entry = _only_entry(response)
    assert entry["type"] == "json_invalid"
    assert entry["msg"] == f"JSON nested more than {MAX_JSON_DEPTH} levels deep"


def test_nesting_deep_enough_for_a_recursion_error_is_a_422(client: TestClient) -> None:
    response = _post(client, "[" * 5000 + "]" * 5000)
    assert _only_entry(response)["msg"] == f"JSON nested more than {MAX_JSON_DEPTH} levels deep"


def test_nesting_within_the_bound_and_brackets_in_strings_are_parsed(client: TestClient) -> None:
    # The object is one level: MAX_JSON_DEPTH in all.
    nested = "[" * (MAX_JSON_DEPTH - 1) + "1" + "]" * (MAX_JSON_DEPTH - 1)
    body = '{"amount_minor": ' + nested + ', "merchant_reference": "' + "[{" * 40 + '"}'
    response = _post(client, body)
    assert response.status_code == 422
    types = {entry["type"] for entry in response.json()["detail"]}
    assert "json_invalid" not in types


# 4. A trailing slash is a 404, not a redirect built from the Host header


@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", "/api/payments/"), ("POST", "/api/payments/"), ("GET", "/healthz/")],
)
def test_a_trailing_slash_is_a_404_without_a_redirect(
    client: TestClient, method: str, path: str
) -> None:
    response = client.request(
        method,
        path,
        headers={"Host": "evil.example", **JSON, **idempotency_headers()},
        content=json.dumps(payment_body()) if method == "POST" else None,
        follow_redirects=False,
    )
    assert response.status_code == 404, response.headers
    assert "location" not in response.headers
    assert response.json() == {"detail": "Not Found"}
    assert _has_security_headers(response.headers)


# 5. Repeated Authorization, Idempotency-Key or X-Request-Id


@pytest.mark.parametrize("name", ["Authorization", "Idempotency-Key", "X-Request-Id"])
def test_a_repeated_header_is_refused_before_authentication(
    client: TestClient, api_key: str, name: str
) -> None:
    first, second = f"first-{uuid.uuid4().hex}", f"second-{uuid.uuid4().hex}"
    if name == "Authorization":
        first, second = bearer(api_key)["Authorization"], "Bearer second"
    # Without the client's default key: the refusal comes before authentication.
    headers = [(name, first), (name, second), ("Content-Type", "application/json")]
    if name != "Idempotency-Key":
        headers.append(("Idempotency-Key", f"k-{uuid.uuid4().hex}"))
    with TestClient(client.app) as anonymous:
        response = anonymous.post(
            "/api/payments", content=json.dumps(payment_body()), headers=headers
        )
    assert response.status_code == 400, response.text
    assert response.json() == {"detail": f"repeated header: {name}"}
    assert _has_security_headers(response.headers)
    assert first not in response.text and second not in response.text
    assert response.headers["X-Request-Id"] not in (first, second)


def test_repeated_headers_over_the_real_server_are_refused_and_logged(
    api_server: ApiServer, api_key: str
) -> None:
    request = (
        b"POST /api/payments HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
        b"Authorization: Bearer " + api_key.encode() + b"\r\n"
        b"Idempotency-Key: repeated-one\r\nIdempotency-Key: repeated-two\r\n"
        b"Content-Length: 2\r\n\r\n{}"
    )
    answer = raw_exchange(api_server, request)
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400"), answer[:300]
    assert json.loads(body) == {"detail": "repeated header: Idempotency-Key"}
    lines = head.decode("latin-1").lower().split("\r\n")
    for name, value in SECURITY_HEADERS.items():
        assert f"{name}: {value}".lower() in lines, name
    request_id = next(line.split(": ", 1)[1] for line in lines if line.startswith("x-request-id"))
    [record] = api_server.wait_for_log_records(request_id)
    assert (record["method"], record["path"], record["status"]) == ("POST", "/api/payments", 400)
    assert "client_id" not in record
    assert "repeated-one" not in api_server.output()


# 6. The Allow header of a 405 names every method the path takes

ALLOWED = {
    "/api/payments": "GET, POST",
    "/api/payments/{payment_id}": "GET",
    "/healthz": "GET",
    "/readyz": "GET",
    "/api/healthz": "GET",
    "/api/readyz": "GET",
    "/api/openapi.json": "GET, HEAD",
}


def test_the_allow_table_covers_every_path_the_app_serves() -> None:
    app = create_app(Settings.model_construct())
    assert {route.path for route in iter_route_contexts(app.routes)} == ALLOWED.keys()


@pytest.mark.parametrize("path", ALLOWED)
@pytest.mark.parametrize("method", ["PUT", "DELETE", "PATCH"])
def test_a_405_allows_every_method_of_the_path(client: TestClient, path: str, method: str) -> None:
    concrete = path.replace("{payment_id}", str(uuid.uuid4()))
    response = client.request(method, concrete)
    assert response.status_code == 405, response.text
    assert response.headers["Allow"] == ALLOWED[path]
    assert response.json() == {"detail": "Method Not Allowed"}
    assert _has_security_headers(response.headers)
