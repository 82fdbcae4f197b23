"""Opaque pagination cursors: urlsafe base64 of a payment's created_at and id."""

import base64
import binascii
import uuid
from datetime import datetime

from payments_api.store import PageKey

_SEPARATOR = "|"


def encode_cursor(key: PageKey) -> str:
    raw = f"{key.created_at.isoformat()}{_SEPARATOR}{key.id}"
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> PageKey:
    """The PageKey in a cursor from `encode_cursor`; ValueError for anything else."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        raw = base64.b64decode(padded, altchars=b"-_", validate=True).decode()
        created_at, payment_id = raw.split(_SEPARATOR)
        key = PageKey(datetime.fromisoformat(created_at), uuid.UUID(payment_id))
    except (binascii.Error, UnicodeDecodeError, ValueError) as error:
        raise ValueError("not a cursor returned by this API") from error
    if key.created_at.tzinfo is None:
        raise ValueError("not a cursor returned by this API")
    return key
