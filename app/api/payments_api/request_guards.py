"""Request guards: a bounded head and body, no repeated identity headers, strict JSON, and
security headers.

`RequestGuardsMiddleware` refuses a body over `MAX_BODY_BYTES` with 413: at once when
Content-Length says so (before a byte of the body is read), else as soon as the streamed
(chunked) body passes the limit. A payment is well under 1 KiB. Headers: 431 over
`MAX_HEADER_BYTES` in all, and the HTTP protocol buffers no more than that (`http_protocol.py`).
It also refuses, with 400, a request that repeats a header of `SINGLE_HEADERS`.

`StrictJsonRoute` refuses JSON bodies that are not UTF-8 or repeat a key (422 `json_invalid`),
instead of guessing their encoding or letting the last copy win.

`SecurityHeadersMiddleware` adds `Cache-Control: no-store`, `Strict-Transport-Security` and
`X-Content-Type-Options: nosniff` to every response, the middleware's own 413 included: on
the direct ALB path nothing else adds them.
"""

from __future__ import annotations

import json
import re
import sys
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
REPEATED_HEADER_DETAIL = "repeated header: {name}"
# Headers that say who the request is, which payment it makes and under which id it is
# logged: sent twice, each reader may take another copy (Starlette and this app the first, a
# proxy, WAF or client library perhaps the last), so the key checked, the payment deduplicated
# or the line logged could differ from what the client or a proxy meant. None is a list-valued
# field, which alone may be repeated (RFC 9110 5.3). Refused, not resolved: naming the header,
# never its values (a key or a card number must not be echoed).
SINGLE_HEADERS = {
    b"authorization": "Authorization",
    b"idempotency-key": "Idempotency-Key",
    b"x-request-id": "X-Request-Id",
}
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


class RequestGuardsMiddleware:
    """431 for headers over MAX_HEADER_BYTES, 400 for a repeated header of `SINGLE_HEADERS`,
    413 for a body over `max_body_bytes`. It runs inside the request log, so each refusal is
    logged, and before routing, so before authentication."""

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
        seen: set[bytes] = set()
        for name, value in headers:  # ASGI header names are lowercase
            if name in SINGLE_HEADERS:
                if name in seen:
                    detail = REPEATED_HEADER_DETAIL.format(name=SINGLE_HEADERS[name])
                    await _refuse(send, 400, detail)
                    return
                seen.add(name)
            elif name == b"content-length":
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


NAMEABLE_KEY = re.compile(r"[A-Za-z_]{1,64}")
"""A client's key that an error message may repeat: ASCII letters and `_` only, so no digit
of any script (no card number), at most 64 characters."""


def _refuse_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            # Named only when it cannot carry a card number or other data: input is not echoed.
            name = f": {key}" if NAMEABLE_KEY.fullmatch(key) else ""
            raise json.JSONDecodeError(f"duplicate key in JSON object{name}", "", 0)
        result[key] = value
    return result


NOT_UTF8_JSON = "the body must be JSON in UTF-8 (RFC 8259), without a byte order mark"
# One decoder for every request: json.loads with a hook builds a new one (and its scanner)
# per call, about 1% of a POST's CPU (py-spy).
_STRICT_DECODER = json.JSONDecoder(object_pairs_hook=_refuse_duplicate_keys)

MAX_JSON_DEPTH = 32
"""Deepest nesting of arrays and objects a JSON body may have: a payment is one flat object.
Python's parser recurses, and past about 1,000 levels raises RecursionError."""
TOO_DEEP_JSON = f"JSON nested more than {MAX_JSON_DEPTH} levels deep"
# A JSON string (skipped whole, so brackets inside it do not count) or an opening or closing
# bracket. No nested quantifier, so no backtracking.
_JSON_NESTING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{}]', re.DOTALL)


def _too_deep(text: str) -> bool:
    # Most bodies (a payment has one bracket) cannot reach the bound: counting is a C loop.
    if text.count("[") + text.count("{") <= MAX_JSON_DEPTH:
        return False
    depth = 0
    for match in _JSON_NESTING.finditer(text):
        token = match.group()
        if token in ("[", "{"):
            depth += 1
            if depth > MAX_JSON_DEPTH:
                return True
        elif token in ("]", "}"):
            depth -= 1
    return False


def _json_error(message: str) -> json.JSONDecodeError:
    """A JSONDecodeError, which FastAPI answers with a 422 `json_invalid` entry whose message
    is `message` (main._message); its document is empty, so nothing of the input travels."""
    return json.JSONDecodeError(message, "", 0)


def parse_json(body: bytes) -> Any:
    """The body's JSON, refusing (as a JSONDecodeError) what `json.loads` would take but JSON
    between systems must not be, and what it would answer with another exception, which
    FastAPI turns into an undocumented 400."""
    # json.loads guesses UTF-16 and UTF-32 and skips a UTF-8 byte order mark; RFC 8259 (8.1):
    # JSON exchanged between systems MUST be UTF-8, and a BOM MUST NOT be added.
    if json.detect_encoding(body) != "utf-8":
        raise _json_error(NOT_UTF8_JSON)
    try:
        text = body.decode()
    except UnicodeDecodeError:
        # json.loads(bytes) would decode with surrogatepass; strict UTF-8 refuses those too.
        raise _json_error("the body is not valid UTF-8") from None
    if _too_deep(text):
        raise _json_error(TOO_DEEP_JSON)
    try:
        return _STRICT_DECODER.decode(text)
    except json.JSONDecodeError:
        raise
    except RecursionError:  # not reached under the bound; kept so it can never be a 400
        raise _json_error(TOO_DEEP_JSON) from None
    except ValueError as error:
        if "integer string conversion" not in str(error):
            raise
        # Python refuses to convert integers of more digits (CVE-2020-10735); the message
        # would repeat the digit count only, but it is not the client's business.
        limit = sys.get_int_max_str_digits()
        raise _json_error(f"a JSON number has more than {limit} digits") from None


class StrictJsonRequest(Request):
    """A request whose JSON body must be UTF-8 and may not repeat a key in any object (JSON
    parsers disagree on which copy wins, so a repeated key could mean one thing here and
    another elsewhere)."""

    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            self._json = parse_json(await self.body())
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
