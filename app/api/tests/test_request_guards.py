"""What the API answers to requests it refuses before or while reading them: unknown field
names in the 422 (never a card number), JSON bodies that are not UTF-8 or that the parser
cannot take (422 `json_invalid`), a trailing slash (404, no redirect), a repeated
`Authorization`, `Idempotency-Key` or `X-Request-Id` (400, before authentication) and the
`Allow` header of a 405."""

import json
import sys
from typing import Any

import pytest
from fastapi.testclient import TestClient

from payments_api.main import WITHHELD_LOC, safe_loc
from payments_api.request_guards import MAX_JSON_DEPTH, SECURITY_HEADERS
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
