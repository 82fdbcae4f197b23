"""Request guards: a bounded body, JSON without duplicate keys, and security headers.

`RequestSizeLimitMiddleware` refuses a body over `MAX_BODY_BYTES` with 413: at once when
Content-Length says so (before a byte of the body is read), else as soon as the streamed
(chunked) body passes the limit. A payment is well under 1 KiB. Headers: 431 over
`MAX_HEADER_BYTES` in all, and the HTTP protocol buffers no more than that (`http_protocol.py`).

`StrictJsonRoute` refuses JSON bodies that repeat a key (422 `json_invalid`), instead of
letting the last copy win.

`SecurityHeadersMiddleware` adds `Cache-Control: no-store`, `Strict-Transport-Security` and
`X-Content-Type-Options: nosniff` to every response, the middleware's own 413 included: on
the direct ALB path nothing else adds them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Coroutine, Mapping
from typing import Any

import orjson
from fastapi import HTTPException, Request, Response
from fastapi.routing import APIRoute
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

MAX_BODY_BYTES = 16 * 1024
"""Largest request body accepted, in bytes."""
MAX_HEADER_BYTES = 8 * 1024
"""Largest request head (request line and headers): the HTTP protocol's limit
(http_protocol.py), and the total this middleware accepts."""
TOO_LARGE_DETAIL = "request body too large"
HEADERS_TOO_LARGE_DETAIL = "request headers too large"
SECURITY_HEADERS = {
    "Cache-Control": "no-store",
    "Strict-Transport-Security": "max-age=31536000",
    "X-Content-Type-Options": "nosniff",
}


class BodyTooLargeError(HTTPException):
    """Raised from `receive` when a streamed body passes the limit. An HTTPException, so
    FastAPI's body parsing lets it through (as a 413) instead of turning it into a 400."""

    def __init__(self) -> None:
        super().__init__(status_code=413, detail=TOO_LARGE_DETAIL, headers={"Connection": "close"})


async def _refuse(send: Send, status: int, detail: str) -> None:
    body = json.dumps({"detail": detail}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


class RequestSizeLimitMiddleware:
    """431 for headers over MAX_HEADER_BYTES, 413 for a body over `max_body_bytes`."""

    def __init__(self, app: ASGIApp, max_body_bytes: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers: list[tuple[bytes, bytes]] = scope.get("headers", [])
        if sum(len(name) + len(value) + 4 for name, value in headers) > MAX_HEADER_BYTES:
            await _refuse(send, 431, HEADERS_TOO_LARGE_DETAIL)
            return
        for name, value in headers:
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    declared = self.max_body_bytes + 1  # h11 refuses these first anyway
                if declared > self.max_body_bytes:
                    await _refuse(send, 413, TOO_LARGE_DETAIL)
                    return
        received = 0
        response_started = False

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body_bytes:
                    raise BodyTooLargeError
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal response_started
            if message["type"] == "http.response.start":
                response_started = True
            await send(message)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except BodyTooLargeError:
            if response_started:  # the app answered before reading all of it: nothing to do
                raise
            await _refuse(send, 413, TOO_LARGE_DETAIL)


class SecurityHeadersMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS.items():
                    headers[name] = value
            await send(message)

        await self.app(scope, receive, send_with_headers)


_NAMEABLE_KEY = re.compile(r"[A-Za-z_]{1,64}")


def _refuse_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            # Named only when it cannot carry a card number or other data: input is not echoed.
            name = f": {key}" if _NAMEABLE_KEY.fullmatch(key) else ""
            raise json.JSONDecodeError(f"duplicate key in JSON object{name}", "", 0)
        result[key] = value
    return result


class StrictJsonRequest(Request):
    """A request whose JSON body may not repeat a key in any object (JSON parsers disagree on
    which copy wins, so a repeated key could mean one thing here and another elsewhere)."""

    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            body = await self.body()
            self._json = json.loads(body, object_pairs_hook=_refuse_duplicate_keys)
        return self._json


class StrictJsonRoute(APIRoute):
    """Route class that parses JSON bodies with `StrictJsonRequest`: a duplicate key is a 422
    `json_invalid` entry, like any other malformed JSON."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def strict_handler(request: Request) -> Response:
            return await handler(StrictJsonRequest(request.scope, request.receive))

        return strict_handler


class JsonResponse(Response):
    """A JSON response serialised once, by orjson (UUIDs and datetimes natively, UTC as Z).
    The routes build it straight from database rows; their pydantic response models document
    the shape."""

    media_type = "application/json"

    def __init__(
        self, content: Any, status_code: int = 200, headers: Mapping[str, str] | None = None
    ) -> None:
        super().__init__(content, status_code, headers)

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content, option=orjson.OPT_UTC_Z)
