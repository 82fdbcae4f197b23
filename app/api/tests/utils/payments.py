"""Factories for payment requests."""

import uuid
from typing import Any

from payments_api.cards import contains_card_number

# A card number (Visa's test number): the API refuses it wherever a client string would be
# stored, and no log line or metric may carry it.
CARD = "4111111111111111"


def new_idempotency_key(prefix: str = "test") -> str:
    """A fresh `<prefix>-<uuid4>`, for an Idempotency-Key or an X-Request-Id. The API refuses a
    key whose digits hold a card number, and replaces such a request id, as a random UUID's
    digits do about once in 1,300 (docs/security.md): such a draw is drawn again, so no test's
    key is refused, or its request id replaced, by chance."""
    while True:
        key = f"{prefix}-{uuid.uuid4()}"
        if not contains_card_number(key):
            return key


def payment_body(**overrides: Any) -> dict[str, Any]:
    """A valid POST /api/payments body, with any field replaced."""
    body: dict[str, Any] = {
        "amount_minor": 1999,
        "currency": "USD",
        "merchant_reference": "order-123",
    }
    body.update(overrides)
    return body


def idempotency_headers(key: str | None = None) -> dict[str, str]:
    return {"Idempotency-Key": key or new_idempotency_key()}
