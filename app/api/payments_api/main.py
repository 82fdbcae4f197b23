"""Application factory: `create_app(settings) -> FastAPI`.

Builds the app with its routers (health, payments), the JSON request log, optional CORS,
the request guards (16 KiB body limit: 413; a repeated identity header: 400), security headers
on every response, no trailing-slash redirects, and error handlers (422 without echoing input,
405 naming every method of the path, 503 when the database is unavailable). The
lifespan opens the database pool at start (the first connection and the migration happen in
the background) and closes it at shutdown; nothing connects at import.

Local run without TLS: `uvicorn --factory payments_api.main:create_app` (settings from the
environment); the container runs `python -m payments_api.serve`.
"""

import logging
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from typing import Any

import psycopg
from fastapi import FastAPI, Request, status
from fastapi.dependencies.utils import get_flat_params
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute, iter_route_contexts
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

from payments_api.auth import ApiKeyVerifier
from payments_api.db import RETRY_AFTER_SECONDS, DatabasePool
from payments_api.db_connection import DatabaseUnavailableError, unavailable_reason
from payments_api.request_guards import (
    NAMEABLE_KEY,
    RequestGuardsMiddleware,
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


WITHHELD_LOC = "[withheld]"
"""Stands in a 422's `loc` for a key the client chose that is not a name (see `safe_loc`)."""
_LOC_KINDS = ("body", "query", "header", "path", "cookie")


def _model_names(model: type[BaseModel], names: set[str]) -> None:
    for name, field in model.model_fields.items():
        names.update(n for n in (name, field.alias) if n is not None)
        if isinstance(field.annotation, type) and issubclass(field.annotation, BaseModel):
            _model_names(field.annotation, names)


def loc_names(routes: Sequence[Any]) -> frozenset[str]:
    """Every name a 422's `loc` may hold as the API's own: the parameters' names and aliases
    (`Idempotency-Key`, `limit`, ...), and the fields of the body models."""
    names: set[str] = set(_LOC_KINDS)
    for context in iter_route_contexts(routes):
        route = context.original_route
        if not isinstance(route, APIRoute):
            continue
        params = get_flat_params(route.dependant)
        if route.body_field is not None:
            params.append(route.body_field)
        for param in params:
            names.update((param.name, param.alias))
            annotation = param.field_info.annotation
            if isinstance(annotation, type) and issubclass(annotation, BaseModel):
                _model_names(annotation, names)
    return frozenset(names)


def safe_loc(loc: Iterable[int | str], known: frozenset[str]) -> list[int | str]:
    """A 422's `loc` without anything the client chose that could carry data. pydantic puts
    the client's own keys there (an unknown field's name, `extra_forbidden`, at any depth),
    and a card number sent as a key would come back. A known name or a list index is kept;
    any other key is kept only when `NAMEABLE_KEY` allows it, the rule that already decides
    which repeated JSON keys are named: ASCII letters and `_`, so it holds no digit of any
    script and no card number, while a mistyped field (`merchant_ref`, `card_number`) is still
    named for the client. Anything else becomes `WITHHELD_LOC`, a fixed placeholder rather
    than a dropped element, so the entry still shows where the unnamed key was."""
    return [
        part
        if isinstance(part, int) or part in known or NAMEABLE_KEY.fullmatch(part)
        else WITHHELD_LOC
        for part in loc
    ]


async def validation_error(request: Request, error: Exception) -> JSONResponse:
    """FastAPI's 422 detail list, one entry per field, without the rejected input: a body
    that carried a card number must not have it echoed back, in a value or in a key."""
    assert isinstance(error, RequestValidationError)
    known: frozenset[str] = request.app.state.loc_names
    detail = [
        {
            "type": e["type"],
            "loc": safe_loc(e["loc"], known),
            "msg": _message(e),
        }
        for e in error.errors()
    ]
    return JSONResponse(
        status_code=status.HTTP_422_UNPROCESSABLE_CONTENT, content={"detail": detail}
    )


def allowed_methods(routes: Sequence[Any]) -> dict[str, str]:
    """The `Allow` header of each path template: every method of every route on it. Starlette
    names only the methods of the route it tried first (`POST` on /api/payments, whose GET is
    another route)."""
    methods: dict[str, set[str]] = {}
    for context in iter_route_contexts(routes):
        if context.path is not None and context.methods:
            methods.setdefault(context.path, set()).update(context.methods)
    return {path: ", ".join(sorted(names)) for path, names in methods.items()}


async def method_not_allowed(request: Request, error: Exception) -> JSONResponse:
    """405 as FastAPI answers it, with the `Allow` of the path (`allowed_methods`, built once
    with the app) rather than of the one route that was tried. Starlette's own routes (the
    OpenAPI document's) put no route in the scope: their path, which has no parameter, is
    looked up as sent."""
    assert isinstance(error, StarletteHTTPException)
    headers = dict(error.headers or {})
    route = request.scope.get("route")
    path = route.path if route is not None else request.scope["path"]
    allow = request.app.state.allowed_methods.get(path)
    if allow is not None:
        headers["Allow"] = allow
    return JSONResponse({"detail": error.detail}, status.HTTP_405_METHOD_NOT_ALLOWED, headers)


async def database_unavailable(request: Request, error: Exception) -> JSONResponse:
    """503 without internals for API clients; the reason goes to the log and /readyz."""
    reason = unavailable_reason(error)
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
        # The routers' routes themselves, in this order: payments first, so the busy routes
        # are matched without trying the health ones. Not include_router: FastAPI 0.165 keeps
        # an included router as a lazy wrapper that is matched twice per request (about 90
        # Python calls of a POST's 1,200: bench/api_app_bench.py). What inclusion would add
        # (operation ids, the refusals before the route) the routers declare themselves.
        routes=[*payments.router.routes, *health.router.routes],
        openapi_url="/api/openapi.json",
        # No redirect from `/api/payments/` to `/api/payments`: Starlette's would answer before
        # authentication, with a Location built from the Host header (an open redirect when a
        # proxy forwards the client's Host). A path is served as written, or is a 404.
        redirect_slashes=False,
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
    app.state.loc_names = loc_names(app.routes)
    app.state.allowed_methods = allowed_methods(app.routes)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(status.HTTP_405_METHOD_NOT_ALLOWED, method_not_allowed)
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
    app.add_middleware(RequestGuardsMiddleware)
    # Added after those, so outside them: it also logs requests that CORS or the size limit
    # answer themselves, and every response, whoever made it, gets the security headers.
    app.add_middleware(RequestLogMiddleware)
    app.add_middleware(SecurityHeadersMiddleware)
    return app
