"""Factories for payment requests."""

import uuid
from typing import Any

# A card number (Visa's test number): the API refuses it wherever a client string would be
# stored, and no log line or metric may carry it.
CARD = "4111111111111111"


def new_idempotency_key() -> str:
    return f"test-{uuid.uuid4()}"


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
