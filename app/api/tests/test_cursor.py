"""Opaque pagination cursors."""

import base64
import uuid
from datetime import UTC, datetime

import pytest

from payments_api.cursor import decode_cursor, encode_cursor
from payments_api.store import PageKey


def test_cursor_decodes_to_the_key_it_was_made_from() -> None:
    key = PageKey(datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=UTC), uuid.uuid4())
    assert decode_cursor(encode_cursor(key)) == key


def _b64(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode()


@pytest.mark.parametrize(
    "cursor",
    [
        "",
        "not base64!",
        _b64("2026-01-02T03:04:05+00:00"),
        _b64("yesterday|0e4c8b43-5b6c-4a3b-9d2a-6f1f8c1a2b3c"),
        _b64("2026-01-02T03:04:05+00:00|not-a-uuid"),
        _b64("2026-01-02T03:04:05|0e4c8b43-5b6c-4a3b-9d2a-6f1f8c1a2b3c"),  # no time zone
    ],
)
def test_malformed_cursor_is_rejected(cursor: str) -> None:
    with pytest.raises(ValueError, match="not a cursor returned by this API"):
        decode_cursor(cursor)
