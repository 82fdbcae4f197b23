"""Payment routes under /api/payments: create (idempotent), read one, list (keyset pages)."""

import uuid
from typing import Annotated

from fastapi import APIRouter, Header, HTTPException, Query, Response, status
from pydantic import AfterValidator, BaseModel
from pydantic_core import PydanticCustomError

from payments_api import store
from payments_api.cards import contains_card_number
from payments_api.cursor import decode_cursor, encode_cursor
from payments_api.deps import PoolDep
from payments_api.http import StrictJsonRoute
from payments_api.models import PaymentCreate, PaymentPublic, PaymentsPublic

router = APIRouter(prefix="/api/payments", tags=["payments"], route_class=StrictJsonRoute)

KEY_REUSED_DETAIL = "Idempotency-Key was already used with a different request body"
NOT_FOUND_DETAIL = "payment not found"


class Message(BaseModel):
    detail: str


def _check_cursor(cursor: str | None) -> str | None:
    if cursor is not None:
        try:
            decode_cursor(cursor)
        except ValueError:
            raise PydanticCustomError(
                "cursor", "must be a next_after value returned by this API"
            ) from None
    return cursor


def _check_idempotency_key(key: str) -> str:
    # The key is stored: a card number must not become one.
    if contains_card_number(key):
        raise PydanticCustomError("card_number", "must not contain a card number")
    return key


IdempotencyKey = Annotated[
    str,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=255,
        pattern=r"^[A-Za-z0-9_.:-]+$",
        description="Client-chosen key, 1-255 of A-Z a-z 0-9 _ . : -; a retry with the same "
        "key and body returns the first payment instead of creating another.",
    ),
    AfterValidator(_check_idempotency_key),
]
Limit = Annotated[int, Query(ge=1, le=100, description="Payments per page.")]
After = Annotated[
    str | None,
    Query(max_length=200, description="next_after from the previous page."),
    AfterValidator(_check_cursor),
]


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    responses={
        status.HTTP_409_CONFLICT: {"model": Message, "description": KEY_REUSED_DETAIL},
    },
)
def create_payment(
    payment_in: PaymentCreate,
    idempotency_key: IdempotencyKey,
    pool: PoolDep,
    response: Response,
) -> PaymentPublic:
    """Create a payment, once per Idempotency-Key.

    A retry with the same key and body returns the same payment (201, header
    `Idempotent-Replayed: true`); the same key with another body is a 409.
    """
    with pool.connection() as conn:
        result = store.create_payment(
            conn,
            idempotency_key=idempotency_key,
            amount_minor=payment_in.amount_minor,
            currency=payment_in.currency,
            merchant_reference=payment_in.merchant_reference,
        )
    if result.outcome is store.Outcome.KEY_REUSED:
        raise HTTPException(status_code=status.HTTP_409_CONFLICT, detail=KEY_REUSED_DETAIL)
    if result.outcome is store.Outcome.REPLAYED:
        response.headers["Idempotent-Replayed"] = "true"
    response.headers["Location"] = f"{router.prefix}/{result.payment.id}"
    return PaymentPublic.model_validate(result.payment)


@router.get(
    "/{payment_id}",
    responses={status.HTTP_404_NOT_FOUND: {"model": Message, "description": NOT_FOUND_DETAIL}},
)
def read_payment(payment_id: uuid.UUID, pool: PoolDep) -> PaymentPublic:
    """One payment by id."""
    with pool.connection() as conn:
        payment = store.get_payment(conn, payment_id)
    if payment is None:
        raise HTTPException(status_code=status.HTTP_404_NOT_FOUND, detail=NOT_FOUND_DETAIL)
    return PaymentPublic.model_validate(payment)


@router.get("")
def read_payments(pool: PoolDep, limit: Limit = 20, after: After = None) -> PaymentsPublic:
    """Payments, newest first, `limit` at a time; pass `next_after` as `after` for the next page."""
    start = decode_cursor(after) if after is not None else None
    with pool.connection() as conn:
        # One extra row says whether another page exists, without a COUNT.
        payments = store.list_payments(conn, limit=limit + 1, after=start)
    page = payments[:limit]
    next_after = None
    if len(payments) > limit:
        last = page[-1]
        next_after = encode_cursor(store.PageKey(last.created_at, last.id))
    return PaymentsPublic(
        data=[PaymentPublic.model_validate(p) for p in page], count=len(page), next_after=next_after
    )
