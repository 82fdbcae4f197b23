"""One APIRouter per resource: health (liveness, readiness) and payments.

What every route shares is given to each router here, not to the app or to include_router:
main.py serves the routers' routes directly (see there why), so what FastAPI would add at
inclusion is added when a route is declared.
"""

from typing import Any

from fastapi import status
from fastapi.routing import APIRoute

from payments_api.models import Message
from payments_api.request_guards import (
    HEADERS_TOO_LARGE_DETAIL,
    MAX_BODY_BYTES,
    MAX_HEADER_BYTES,
    TOO_LARGE_DETAIL,
)


def operation_id(route: APIRoute) -> str:
    """OpenAPI operation ids like `payments-create_payment`, for clean generated clients."""
    return f"{route.tags[0]}-{route.name}"


# Answers any route may give before the route runs (request_guards.py, http_protocol.py).
REFUSED_BEFORE_THE_ROUTE: dict[int | str, dict[str, Any]] = {
    status.HTTP_400_BAD_REQUEST: {
        "model": Message,
        "description": "Not a valid HTTP request (refused by the HTTP parser), or a "
        "repeated `Authorization`, `Idempotency-Key` or `X-Request-Id` header "
        "(`repeated header: <name>`, before authentication).",
    },
    status.HTTP_413_CONTENT_TOO_LARGE: {
        "model": Message,
        "description": f"{TOO_LARGE_DETAIL}: over {MAX_BODY_BYTES // 1024} KiB.",
    },
    status.HTTP_431_REQUEST_HEADER_FIELDS_TOO_LARGE: {
        "model": Message,
        "description": f"{HEADERS_TOO_LARGE_DETAIL}: request line and headers over "
        f"{MAX_HEADER_BYTES // 1024} KiB.",
    },
}
