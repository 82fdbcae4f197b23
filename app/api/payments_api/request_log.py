"""Structured logs: one JSON object per line on stdout, and one line per HTTP request.

`configure_logging` points the root logger (and so uvicorn's and psycopg's loggers) at a
`JsonFormatter`. `RequestLogMiddleware` logs request_id, method, path, status, latency_ms and,
once a key authenticated the request, the client_id (who did it: PCI DSS 10.2) and the key's
key_prefix (with which key: its 12 hex digits, never the secret part) for every request, and
echoes the request id in the X-Request-Id response header. Bodies, headers, query strings and
connection settings are never logged; a client's request id or a path that holds a card number
is replaced (`cards.contains_card_number`).

The same line carries the request's CloudWatch metrics in Embedded Metric Format
(`payments_api.metrics`): `_aws`, the Route and StatusClass dimensions and the metric values.
With the request logger above INFO the line keeps only those (metrics are not log records: a
quieter log level must not blind the alarms).
"""

from __future__ import annotations

import logging
import re
import sys
import time
import uuid
from datetime import UTC, datetime
from typing import Any

import orjson
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from payments_api.cards import contains_card_number
from payments_api.metrics import (
    PAYMENT_OUTCOME_STATE,
    emf_members,
    end_request_timing,
    route_of,
    start_request_timing,
)

REQUEST_ID_HEADER = "X-Request-Id"
# A caller's request id is kept only if it is short and plain, so it cannot forge log fields,
# and holds no card number (it is logged and echoed).
_VALID_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")
_RECORD_ATTRIBUTES = frozenset(vars(logging.makeLogRecord({}))) | {
    "message",
    "asctime",
    "color_message",  # uvicorn's coloured copy of the message
    "taskName",
}

PATH_WITHHELD = "[withheld: holds a card number]"
ANSWERED_BY_PROTOCOL_STATE = "answered_by_protocol"
"""Key of a request's `scope["state"]`: the status the HTTP protocol answered it with itself,
while the app had it (http_protocol.py: a body too slow). The app's own answer never leaves
then (uvicorn drops it), so the request line logs this status, the one the client got."""

request_logger = logging.getLogger("payments_api.request")
METRICS_LOGGER = "payments_api.metrics"


def _time(created: float) -> str:
    return datetime.fromtimestamp(created, UTC).isoformat(timespec="milliseconds")


class JsonFormatter(logging.Formatter):
    """time, level, logger, message, then the record's `extra` fields."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": _time(record.created),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _RECORD_ATTRIBUTES and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return orjson.dumps(entry, default=str).decode()


def write_request_line(
    fields: dict[str, Any], metrics: dict[str, Any] | None = None, now: float | None = None
) -> None:
    """The request's log line, as `JsonFormatter` would write `request_logger.info("request",
    extra=fields)`, but straight to stdout: through the logging module it was a seventh of the
    API's work per request (measured with cProfile), for one fixed line. It honours the logger's
    level, and it writes where configure_logging sends every other record.

    `metrics` (`metrics.emf_members`, whose Timestamp is `now`) are added to the line; above
    INFO they are written alone, on a line without the request's fields."""
    if now is None:
        now = time.time()
    if request_logger.isEnabledFor(logging.INFO):
        entry = {
            "time": _time(now),
            "level": "INFO",
            "logger": request_logger.name,
            "message": "request",
            **fields,
        }
    elif metrics is not None:
        entry = {
            "time": _time(now),
            "level": "INFO",
            "logger": METRICS_LOGGER,
            "message": "metrics",
        }
    else:
        return
    if metrics is not None:
        entry.update(metrics)
    sys.stdout.write(orjson.dumps(entry, default=str).decode() + "\n")
    sys.stdout.flush()


def configure_logging(level: str = "INFO") -> None:
    """Send every logger's records, as JSON lines, to stdout."""
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logging.getLogger(name).handlers.clear()
        logging.getLogger(name).propagate = True


def _loggable_path(path: str) -> str:
    """The path, unless it holds a card number (GET /api/payments/<a card number>)."""
    return PATH_WITHHELD if contains_card_number(path) else path


def _request_id(scope: Scope) -> str:
    headers: list[tuple[bytes, bytes]] = scope.get("headers", [])
    candidate: str | None = None
    for name, value in headers:
        if name == b"x-request-id":
            if candidate is not None:  # repeated: refused (request_guards), under an id of ours
                return uuid.uuid4().hex
            candidate = value.decode("latin-1")
    if (
        candidate is not None
        and _VALID_REQUEST_ID.fullmatch(candidate)
        and not contains_card_number(candidate)
    ):
        return candidate
    return uuid.uuid4().hex


class RequestLogMiddleware:
    """Pure ASGI middleware (no BaseHTTPMiddleware, so streaming and cancellation stay intact)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = _request_id(scope)
        state = scope.setdefault("state", {})
        state["request_id"] = request_id
        status = 500  # what the client sees if the app raises before responding
        started = time.perf_counter()
        timing, timing_token = start_request_timing()

        async def send_with_request_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                MutableHeaders(scope=message).append(REQUEST_ID_HEADER, request_id)
            await send(message)

        try:
            await self.app(scope, receive, send_with_request_id)
        finally:
            end_request_timing(timing_token)
            status = state.get(ANSWERED_BY_PROTOCOL_STATE, status)
            latency_ms = round((time.perf_counter() - started) * 1000, 2)
            fields = {
                "request_id": request_id,
                "method": scope["method"],
                "path": _loggable_path(scope["path"]),
                "status": status,
                "latency_ms": latency_ms,
            }
            client_id = state.get("client_id")
            if client_id is not None:
                fields["client_id"] = client_id
                fields["key_prefix"] = state.get("key_prefix")
            now = time.time()
            metrics = emf_members(
                now,
                route_of(scope),
                status,
                latency_ms,
                outcome=state.get(PAYMENT_OUTCOME_STATE),
                timing=timing,
            )
            write_request_line(fields, metrics, now)
