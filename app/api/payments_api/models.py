"""Request and response schemas: PaymentCreate (input), PaymentPublic, PaymentsPublic,
the health bodies Liveness and Readiness, and the error bodies Message and ValidationFailure.

PCI scope: PaymentCreate has no card fields and forbids unknown fields, and merchant_reference
is checked for card numbers, so a card number is never accepted, stored or logged.
"""

import uuid
from datetime import UTC, datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictInt, StrictStr
from pydantic_core import PydanticCustomError

from payments_api.cards import contains_card_number
from payments_api.currencies import ACTIVE_CURRENCIES

MAX_AMOUNT_MINOR = 10_000_000_000
"""Largest amount in minor units (10^10, e.g. USD 100,000,000.00)."""
MAX_MERCHANT_REFERENCE_LENGTH = 64


def _check_currency(code: str) -> str:
    if code in ACTIVE_CURRENCIES:
        return code
    if code.upper() in ACTIVE_CURRENCIES:
        raise PydanticCustomError(
            "currency_case", "must be uppercase: {expected}", {"expected": code.upper()}
        )
    raise PydanticCustomError(
        "currency_unknown", "must be an active ISO 4217 currency code, e.g. USD or EUR"
    )


def _check_merchant_reference(reference: str) -> str:
    if not reference.isprintable():
        raise PydanticCustomError(
            "not_printable", "must contain printable characters only (no tabs or newlines)"
        )
    if contains_card_number(reference):
        raise PydanticCustomError("card_number", "must not contain a card number")
    return reference


def _to_utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC)


AmountMinor = Annotated[StrictInt, Field(gt=0, le=MAX_AMOUNT_MINOR)]
CurrencyCode = Annotated[StrictStr, AfterValidator(_check_currency)]
MerchantReference = Annotated[
    StrictStr,
    Field(min_length=1, max_length=MAX_MERCHANT_REFERENCE_LENGTH),
    AfterValidator(_check_merchant_reference),
]


class PaymentCreate(BaseModel):
    """Body of POST /api/payments. Unknown fields (card_number, ...) are rejected."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"amount_minor": 1999, "currency": "USD", "merchant_reference": "order-123"}
            ]
        },
    )

    amount_minor: AmountMinor = Field(
        description="Amount in the currency's minor unit (cents for USD): an integer, "
        f"1 to {MAX_AMOUNT_MINOR}."
    )
    currency: CurrencyCode = Field(description="Active ISO 4217 code in uppercase, e.g. USD.")
    merchant_reference: MerchantReference = Field(
        description="The merchant's own reference, 1-64 printable characters; "
        "must not contain a card number."
    )


class PaymentPublic(BaseModel):
    """A payment as the API returns it.

    Plain types, not PaymentCreate's rules: a stored payment must stay readable even if, say,
    its currency later leaves the ISO list.
    """

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    amount_minor: int
    currency: str
    merchant_reference: str
    status: Literal["created"]
    created_at: Annotated[datetime, AfterValidator(_to_utc)] = Field(
        description="When the payment was created, in UTC."
    )


class PaymentsPublic(BaseModel):
    """One page of payments, newest first."""

    data: list[PaymentPublic]
    count: int = Field(description="Number of payments in data.")
    next_after: str | None = Field(
        description="Cursor for the next page (pass as ?after=), or null on the last page."
    )


class Liveness(BaseModel):
    status: Literal["ok"]
    version: str
    commit: str | None = Field(
        description="The git commit the image was built from (the last one that changed its "
        "inputs; -dirty: they had uncommitted changes), or null when the build did not say."
    )


class Readiness(BaseModel):
    status: Literal["ready", "unavailable"]
    reason: str | None = Field(default=None, description="Why the database is unavailable.")


class Message(BaseModel):
    """An error with a one-line reason, e.g. {"detail": "payment not found"}."""

    detail: str


class ValidationIssue(BaseModel):
    """One reason a request was refused with 422. Never the rejected input."""

    type: str = Field(description="What is wrong, e.g. missing, extra_forbidden, json_invalid.")
    loc: list[str | int] = Field(
        description='Where: "body", "header", "query" or "path", then the field, e.g. '
        '["body", "amount_minor"]. A key the client sent that is not a name (ASCII letters '
        'and _) is "[withheld]".'
    )
    msg: str = Field(description="Why, in a sentence; it does not repeat the input.")


class ValidationFailure(BaseModel):
    """A 422: every reason the request was refused."""

    detail: list[ValidationIssue]
