"""POST/GET /api/payments against a real database: validation, idempotency, reads, pages."""

import threading
import uuid
from datetime import datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from payments_local_servers.api import ApiServer, AppDatabase
from payments_local_servers.postgres import PostgresServer

from payments_api.models import MAX_AMOUNT_MINOR
from tests.utils.payments import idempotency_headers, new_idempotency_key, payment_body

PAN = "4111111111111111"


def post(client: TestClient, body: dict[str, Any], key: str | None = None) -> Any:
    return client.post("/api/payments", json=body, headers=idempotency_headers(key))


def error_for(response: Any, *loc: str) -> dict[str, Any]:
    """The one 422 entry for `loc`; fails if the response is not a 422 naming it."""
    assert response.status_code == 422, response.text
    entries = [e for e in response.json()["detail"] if tuple(e["loc"]) == loc]
    assert len(entries) == 1, f"expected one error at {loc}, got {response.json()['detail']}"
    entry: dict[str, Any] = entries[0]
    return entry


# Creating


def test_create_returns_201_with_the_new_payment(client: TestClient) -> None:
    response = post(client, payment_body(amount_minor=2500, merchant_reference="order-9"))
    assert response.status_code == 201
    payment = response.json()
    assert {k: payment[k] for k in ("amount_minor", "currency", "merchant_reference")} == {
        "amount_minor": 2500,
        "currency": "USD",
        "merchant_reference": "order-9",
    }
    assert payment["status"] == "created"
    assert uuid.UUID(payment["id"])
    assert datetime.fromisoformat(payment["created_at"]).tzinfo is not None


def test_first_request_is_not_marked_replayed(client: TestClient) -> None:
    assert "Idempotent-Replayed" not in post(client, payment_body()).headers


def test_create_gives_the_location_of_the_payment(client: TestClient) -> None:
    response = post(client, payment_body())
    assert response.headers["Location"] == f"/api/payments/{response.json()['id']}"


def test_retry_with_same_key_and_body_returns_the_same_payment_marked_replayed(
    client: TestClient,
) -> None:
    key = new_idempotency_key()
    first = post(client, payment_body(), key)
    retry = post(client, payment_body(), key)
    assert (retry.status_code, retry.json()) == (201, first.json())
    assert retry.headers["Idempotent-Replayed"] == "true"


def test_same_key_with_a_different_body_is_a_conflict(client: TestClient) -> None:
    key = new_idempotency_key()
    post(client, payment_body(amount_minor=100), key)
    response = post(client, payment_body(amount_minor=101), key)
    assert (response.status_code, response.json()) == (
        409,
        {"detail": "Idempotency-Key was already used with a different request body"},
    )


def test_twenty_concurrent_requests_with_one_key_create_one_payment(
    api_server: ApiServer,
    api_key: str,
    postgres: PostgresServer,
    app_database: AppDatabase,
) -> None:
    key = new_idempotency_key()
    body = payment_body(merchant_reference="concurrent")
    barrier = threading.Barrier(20)
    results: list[tuple[int, str, bool]] = []
    lock = threading.Lock()

    def send() -> None:
        with api_server.client(api_key) as http:
            barrier.wait(timeout=60)  # bounds a failure only
            response = http.post("/api/payments", json=body, headers={"Idempotency-Key": key})
        with lock:
            results.append(
                (
                    response.status_code,
                    response.json().get("id", ""),
                    "Idempotent-Replayed" in response.headers,
                )
            )

    threads = [threading.Thread(target=send) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)  # bounds a failure only
    assert not [thread for thread in threads if thread.is_alive()], "requests still running"

    with postgres.connect(app_database.master.dbname) as conn:
        rows = conn.execute(
            "SELECT count(*) FROM payments WHERE idempotency_key = %s", (key,)
        ).fetchone()
    assert rows == (1,), f"{rows} payments for one key"
    assert [status for status, _, _ in results] == [201] * 20
    assert len({payment_id for _, payment_id, _ in results}) == 1
    assert sorted(replayed for _, _, replayed in results) == [False] + [True] * 19


# Validating


@pytest.mark.parametrize(
    "amount", [-1, 0, MAX_AMOUNT_MINOR + 1, 1.5, 100.0, "100", True, None, [100]]
)
def test_amount_must_be_a_positive_integer_up_to_the_limit(
    client: TestClient, amount: object
) -> None:
    error_for(post(client, payment_body(amount_minor=amount)), "body", "amount_minor")


def test_largest_amount_is_accepted(client: TestClient) -> None:
    assert post(client, payment_body(amount_minor=MAX_AMOUNT_MINOR)).status_code == 201


def test_smallest_amount_is_accepted(client: TestClient) -> None:
    assert post(client, payment_body(amount_minor=1)).status_code == 201


@pytest.mark.parametrize("currency", ["ABC", "XXX", "US", "USDD", "", 840])
def test_currency_must_be_an_active_iso_4217_code(client: TestClient, currency: object) -> None:
    error_for(post(client, payment_body(currency=currency)), "body", "currency")


def test_lowercase_currency_is_rejected_with_the_uppercase_code(client: TestClient) -> None:
    entry = error_for(post(client, payment_body(currency="usd")), "body", "currency")
    assert entry["msg"] == "must be uppercase: USD"


def test_missing_idempotency_key_is_rejected_naming_the_header(client: TestClient) -> None:
    response = client.post("/api/payments", json=payment_body())
    assert error_for(response, "header", "Idempotency-Key")["msg"] == "is required"


@pytest.mark.parametrize("key", ["", "has space", "x" * 256, "ключ", "a/b"])
def test_malformed_idempotency_key_is_rejected(client: TestClient, key: str) -> None:
    # Raw bytes: the client library would refuse to send a non-ASCII header value.
    headers = [(b"Idempotency-Key", key.encode())]
    error_for(
        client.post("/api/payments", json=payment_body(), headers=headers),
        "header",
        "Idempotency-Key",
    )


def test_longest_idempotency_key_is_accepted(client: TestClient) -> None:
    key = ("A-z0_9.:" * 32)[:250] + uuid.uuid4().hex[:5]
    assert len(key) == 255
    assert post(client, payment_body(), key).status_code == 201


def test_unknown_field_such_as_card_number_is_rejected(client: TestClient) -> None:
    response = post(client, payment_body(card_number=PAN))
    error_for(response, "body", "card_number")


def test_rejected_card_number_is_not_echoed_back(client: TestClient) -> None:
    response = post(client, payment_body(card_number=PAN, merchant_reference=f"r {PAN}"))
    assert response.status_code == 422
    assert PAN not in response.text


@pytest.mark.parametrize("reference", [PAN, "4111 1111 1111 1111", "order-4111-1111-1111-1111"])
def test_merchant_reference_with_a_card_number_is_rejected(
    client: TestClient, reference: str
) -> None:
    entry = error_for(
        post(client, payment_body(merchant_reference=reference)), "body", "merchant_reference"
    )
    assert entry["msg"] == "must not contain a card number"


def test_merchant_reference_with_sixteen_digits_failing_luhn_is_accepted(
    client: TestClient,
) -> None:
    response = post(client, payment_body(merchant_reference="4111111111111112"))
    assert response.status_code == 201


@pytest.mark.parametrize("reference", ["", "x" * 65, "line\nbreak", "tab\there", 42])
def test_merchant_reference_must_be_1_to_64_printable_characters(
    client: TestClient, reference: object
) -> None:
    error_for(
        post(client, payment_body(merchant_reference=reference)), "body", "merchant_reference"
    )


def test_merchant_reference_of_64_characters_is_accepted(client: TestClient) -> None:
    assert post(client, payment_body(merchant_reference="é" * 64)).status_code == 201


def test_every_invalid_field_gets_its_own_error(client: TestClient) -> None:
    response = post(client, {"amount_minor": 0, "currency": "usd", "merchant_reference": ""})
    assert response.status_code == 422
    assert sorted(e["loc"][-1] for e in response.json()["detail"]) == [
        "amount_minor",
        "currency",
        "merchant_reference",
    ]


# Reading


def test_payment_can_be_read_by_id(client: TestClient) -> None:
    created = post(client, payment_body()).json()
    response = client.get(f"/api/payments/{created['id']}")
    assert (response.status_code, response.json()) == (200, created)


def test_unknown_payment_id_is_404(client: TestClient) -> None:
    response = client.get(f"/api/payments/{uuid.uuid4()}")
    assert (response.status_code, response.json()) == (404, {"detail": "payment not found"})


def test_malformed_payment_id_is_422(client: TestClient) -> None:
    error_for(client.get("/api/payments/not-a-uuid"), "path", "payment_id")


# Listing


def test_pages_walk_every_payment_once_newest_first(isolated_client: TestClient) -> None:
    created = [post(isolated_client, payment_body(amount_minor=n)).json() for n in range(1, 8)]
    seen: list[dict[str, Any]] = []
    page_sizes = []
    after: str | None = None
    for _ in range(10):  # bounded: 7 payments at 3 a page need 3 pages
        params: dict[str, Any] = {"limit": 3} | ({"after": after} if after else {})
        page = isolated_client.get("/api/payments", params=params).json()
        seen.extend(page["data"])
        page_sizes.append(page["count"])
        after = page["next_after"]
        if after is None:
            break
    assert page_sizes == [3, 3, 1]
    assert seen == list(reversed(created))


def test_default_page_holds_20_payments(isolated_client: TestClient) -> None:
    for _ in range(21):
        post(isolated_client, payment_body())
    page = isolated_client.get("/api/payments").json()
    assert (page["count"], len(page["data"]), page["next_after"] is not None) == (20, 20, True)


def test_empty_list_has_no_next_cursor(isolated_client: TestClient) -> None:
    response = isolated_client.get("/api/payments")
    assert response.json() == {"data": [], "count": 0, "next_after": None}


@pytest.mark.parametrize("limit", [0, 101, "ten"])
def test_limit_must_be_1_to_100(client: TestClient, limit: int | str) -> None:
    error_for(client.get("/api/payments", params={"limit": limit}), "query", "limit")


def test_limit_of_100_is_accepted(client: TestClient) -> None:
    assert client.get("/api/payments", params={"limit": 100}).status_code == 200


def test_malformed_cursor_is_422(client: TestClient) -> None:
    entry = error_for(client.get("/api/payments", params={"after": "bogus"}), "query", "after")
    assert entry["msg"] == "must be a next_after value returned by this API"
