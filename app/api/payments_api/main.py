"""Application factory: `create_app(settings) -> FastAPI`.

Builds the app with its routers (health, payments), the JSON request log, optional CORS,
a 16 KiB body limit (413), security headers on every response, and error handlers (422 without
echoing input, 503 when the database is unavailable). The
lifespan opens the database pool at start (the first connection and the migration happen in
the background) and closes it at shutdown; nothing connects at import.

Local run without TLS: `uvicorn --factory payments_api.main:create_app` (settings from the
environment); the container runs `python -m payments_api.serve`.
"""

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import psycopg
from fastapi import FastAPI, Request, status
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute

from payments_api.auth import ApiKeyVerifier
from payments_api.db import RETRY_AFTER_SECONDS, DatabasePool, DatabaseUnavailableError
from payments_api.db_connection import describe_error
from payments_api.models import Message
from payments_api.request_guards import (
    HEADERS_TOO_LARGE_DETAIL,
    MAX_BODY_BYTES,
    MAX_HEADER_BYTES,
    TOO_LARGE_DETAIL,
    RequestSizeLimitMiddleware,
    SecurityHeadersMiddleware,
)
from payments_api.request_log import REQUEST_ID_HEADER, RequestLogMiddleware
from payments_api.routes import health, payments
from payments_api.settings import Settings

logger = logging.getLogger(__name__)

# Friendlier wording for the two pydantic messages clients meet most.
_MESSAGES = {
    "missing": "is required",
    "extra_forbidden": "is not an accepted field (unknown fields, such as card data, are rejected)",
}


def _message(error: Any) -> str:
    if error["type"] == "json_invalid" and "error" in error.get("ctx", {}):
        return str(error["ctx"]["error"])  # e.g. "duplicate key in JSON object: currency"
    return str(_MESSAGES.get(error["type"], error["msg"]))


def generate_unique_id(route: APIRoute) -> str:
    """OpenAPI operation ids like `payments-create_payment`, for clean generated clients."""
    return f"{route.tags[0]}-{route.name}"


async def validation_error(_: Request, error: Exception) -> JSONResponse:
    """FastAPI's 422 detail list, one entry per field, without the rejected input: a body
    that carried a card number must not have it echoed back."""
    assert isinstance(error, RequestValidationError)
    detail = [
        {
            "type": e["type"],
            "loc": list(e["loc"]),
            "msg": _message(e),
        }
        for e in error.errors()
    ]
    return JSONResponse(
        status_code=status.HTTP_422_UNPROCESSABLE_CONTENT, content={"detail": detail}
    )


async def database_unavailable(request: Request, error: Exception) -> JSONResponse:
    """503 without internals for API clients; the reason goes to the log and /readyz."""
    reason = error.reason if isinstance(error, DatabaseUnavailableError) else describe_error(error)
    logger.warning(
        "database unavailable",
        extra={"reason": reason, "request_id": getattr(request.state, "request_id", None)},
    )
    return JSONResponse(
        status_code=status.HTTP_503_SERVICE_UNAVAILABLE,
        content={"detail": "database unavailable, try again later"},
        headers={"Retry-After": RETRY_AFTER_SECONDS},
    )


def create_app(settings: Settings | None = None) -> FastAPI:
    """The API. Settings default to the environment, read here and not at import."""
    settings = settings if settings is not None else Settings()

    @asynccontextmanager
    async def lifespan(running: FastAPI) -> AsyncIterator[dict[str, Any]]:
        pool = DatabasePool(settings)
        await pool.start()  # returns at once; the first connection is made in the background
        verifier: ApiKeyVerifier = running.state.key_verifier
        try:
            yield {"pool": pool}
        finally:
            await verifier.close()
            await pool.close()

    app = FastAPI(
        title="Payments API",
        version=settings.app_version,
        lifespan=lifespan,
        generate_unique_id_function=generate_unique_id,
        openapi_url="/api/openapi.json",
        # Answers any route may give before the route runs (request_guards.py, serve.py).
        responses={
            status.HTTP_400_BAD_REQUEST: {
                "model": Message,
                "description": "Not a valid HTTP request (refused by the HTTP parser).",
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
        },
        # The OpenAPI document is public (the contract holds no secret; clients generate from
        # it). No Swagger UI: it loads its JavaScript from a third-party CDN into a page on
        # the payments origin, which PCI DSS 6.4.3 would have us inventory and integrity-check.
        docs_url=None,
        redoc_url=None,
        # No OpenTelemetry here: metrics travel in the log lines (CloudWatch), and with these
        # off FastAPI skips its per-request look for a configured provider (3% of a POST).
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    app.state.settings = settings
    app.state.key_verifier = ApiKeyVerifier(settings.api_key_cache_seconds)
    # Payments first: the busy routes are matched without trying the health ones.
    app.include_router(payments.router)
    app.include_router(health.router)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(DatabaseUnavailableError, database_unavailable)
    app.add_exception_handler(psycopg.OperationalError, database_unavailable)
    if settings.cors_allowed_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_allowed_origins,
            allow_methods=["GET", "POST"],
            allow_headers=["Authorization", "Content-Type", "Idempotency-Key", REQUEST_ID_HEADER],
            expose_headers=["Idempotent-Replayed", "Location", REQUEST_ID_HEADER],
        )
    app.add_middleware(RequestSizeLimitMiddleware)
    # Added after those, so outside them: it also logs requests that CORS or the size limit
    # answer themselves, and every response, whoever made it, gets the security headers.
    app.add_middleware(RequestLogMiddleware)
    app.add_middleware(SecurityHeadersMiddleware)
    return app
