"""Payment routes under /api/payments: create (idempotent), read one, list (keyset pages).

Every route needs the caller's API key (`AuthenticatedRoute`; POST is a `DirectRoute`, which
authenticates the same way) and sees only that client's
payments and idempotency keys: another client's payment is a 404, as is one that does not
exist.

The hot path is async end to end with one database round trip per request (`store`), and
the response is serialised once, straight from the row (`payment_json`): the pydantic
response models only document the shape in OpenAPI (tests check the two agree).
"""

import sys
import uuid
from datetime import UTC
from typing import Annotated, Any

from fastapi import APIRouter, Header, HTTPException, Query, Request, status
from pydantic import AfterValidator
from pydantic_core import PydanticCustomError

from payments_api import store
from payments_api.auth import BEARER_SCHEME, UNAUTHORIZED_DETAIL, AuthenticatedRoute, caller_of
from payments_api.cards import contains_card_number
from payments_api.cursor import decode_cursor, encode_cursor
from payments_api.deps import pool_of
from payments_api.direct_route import DirectRoute
from payments_api.metrics import PAYMENT_OUTCOME_STATE
from payments_api.models import (
    Message,
    PaymentCreate,
    PaymentPublic,
    PaymentsPublic,
    ValidationFailure,
)
from payments_api.request_guards import MAX_JSON_DEPTH, JsonResponse
from payments_api.routes import REFUSED_BEFORE_THE_ROUTE, operation_id

KEY_REUSED_DETAIL = "Idempotency-Key was already used with a different request body"
NOT_FOUND_DETAIL = "payment not found"

router = APIRouter(
    prefix="/api/payments",
    tags=["payments"],
    route_class=AuthenticatedRoute,
    dependencies=[BEARER_SCHEME],
    generate_unique_id_function=operation_id,
    responses={
        **REFUSED_BEFORE_THE_ROUTE,
        status.HTTP_401_UNAUTHORIZED: {
            "model": Message,
            "description": f"{UNAUTHORIZED_DETAIL}: missing, malformed, unknown, wrong or "
            "revoked (the answer does not say which); header `WWW-Authenticate: Bearer`.",
        },
        status.HTTP_422_UNPROCESSABLE_CONTENT: {
            "model": ValidationFailure,
            "description": "The request was refused: one entry per reason, never the rejected "
            "input. A body that cannot be read as JSON is one `json_invalid` entry: not UTF-8 "
            "(UTF-16, UTF-32 and a byte order mark are refused: RFC 8259), invalid UTF-8, "
            f"nested more than {MAX_JSON_DEPTH} levels deep, an integer of more than "
            f"{sys.get_int_max_str_digits()} digits, or a key repeated in an object.",
        },
        status.HTTP_503_SERVICE_UNAVAILABLE: {
            "model": Message,
            "description": "The database cannot be used; retry after `Retry-After` seconds.",
        },
    },
)


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
        "key and body returns the first payment instead of creating another. A key that "
        'holds a card number (the rule of docs/security.md, "Which strings hold a card '
        'number") is refused with 422, `must not contain a card number`, and not stored: '
        "send a new key.",
    ),
    AfterValidator(_check_idempotency_key),
]
Limit = Annotated[int, Query(ge=1, le=100, description="Payments per page.")]
After = Annotated[
    str | None,
    Query(max_length=200, description="next_after from the previous page."),
    AfterValidator(_check_cursor),
]


def payment_json(payment: store.Payment) -> dict[str, Any]:
    """A payment as PaymentPublic documents it (orjson writes the UUID and the UTC time)."""
    return {
        "id": payment.id,
        "amount_minor": payment.amount_minor,
        "currency": payment.currency,
        "merchant_reference": payment.merchant_reference,
        "status": payment.status,
        "created_at": payment.created_at.astimezone(UTC),
    }


async def create_payment(
    payment_in: PaymentCreate, idempotency_key: IdempotencyKey, request: Request
) -> JsonResponse:
    """Create a payment, once per Idempotency-Key of the calling client.

    A retry with the same key and body returns the same payment (201, header
    `Idempotent-Replayed: true`); the same key with another body is a 409. A 5xx leaves the
    outcome unknown: the payment may still be created after the answer. Retry with the same
    key and body, which is safe: the payment is created at most once. A 503 says when to
    retry, in `Retry-After`.
    """
    client_id = caller_of(request)
    result = await pool_of(request).run(
        lambda conn: store.create_payment(
            conn,
            client_id=client_id,
            idempotency_key=idempotency_key,
            amount_minor=payment_in.amount_minor,
            currency=payment_in.currency,
            merchant_reference=payment_in.merchant_reference,
        )
    )
    # The request's metric (PaymentsCreated, PaymentsReplayed or PaymentsConflicted).
    setattr(request.state, PAYMENT_OUTCOME_STATE, result.outcome.value)
    if result.outcome is store.Outcome.KEY_REUSED:
        raise HTTPException(status_code=status.HTTP_409_CONFLICT, detail=KEY_REUSED_DETAIL)
    headers = {"Location": f"{router.prefix}/{result.payment.id}"}
    if result.outcome is store.Outcome.REPLAYED:
        headers["Idempotent-Replayed"] = "true"
    return JsonResponse(payment_json(result.payment), status.HTTP_201_CREATED, headers)


# The busiest route, so a DirectRoute: validated as FastAPI would, without its general
# dependency solver (direct_route.py says why). Declared here, not with @router.post, which
# takes no route class.
router.add_api_route(
    "",
    create_payment,
    methods=["POST"],
    route_class_override=DirectRoute,
    status_code=status.HTTP_201_CREATED,
    response_model=PaymentPublic,
    responses={
        status.HTTP_409_CONFLICT: {"model": Message, "description": KEY_REUSED_DETAIL},
    },
)


@router.get(
    "/{payment_id}",
    response_model=PaymentPublic,
    responses={status.HTTP_404_NOT_FOUND: {"model": Message, "description": NOT_FOUND_DETAIL}},
)
async def read_payment(payment_id: uuid.UUID, request: Request) -> JsonResponse:
    """One of the calling client's payments, by id."""
    client_id = caller_of(request)
    payment = await pool_of(request).run(
        lambda conn: store.get_payment(conn, client_id, payment_id)
    )
    if payment is None:
        raise HTTPException(status_code=status.HTTP_404_NOT_FOUND, detail=NOT_FOUND_DETAIL)
    return JsonResponse(payment_json(payment))


@router.get("", response_model=PaymentsPublic)
async def read_payments(request: Request, limit: Limit = 20, after: After = None) -> JsonResponse:
    """The calling client's payments, newest first, `limit` at a time; pass `next_after` as
    `after` for the next page."""
    client_id = caller_of(request)
    start = decode_cursor(after) if after is not None else None
    # One extra row says whether another page exists, without a COUNT.
    payments = await pool_of(request).run(
        lambda conn: store.list_payments(conn, client_id, limit=limit + 1, after=start)
    )
    page = payments[:limit]
    next_after = None
    if len(payments) > limit:
        last = page[-1]
        next_after = encode_cursor(store.PageKey(last.created_at, last.id))
    return JsonResponse(
        {"data": [payment_json(p) for p in page], "count": len(page), "next_after": next_after}
    )
