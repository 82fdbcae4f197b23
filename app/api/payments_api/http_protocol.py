"""The HTTP/1.1 protocol the server runs on each connection: uvicorn's httptools (llhttp)
protocol with what uvicorn lacks. Request heads (request line and headers) are bounded to 8 KiB
(httptools itself has no limit); bodies are bounded by the app. Reading them is bounded in
time too (uvicorn has no such bound): a head must arrive within REQUEST_HEAD_TIMEOUT of the
connection's start or of its first byte, a body within REQUEST_BODY_TIMEOUT of its head, or the
connection is closed (408 when a request was begun), so slow or idle clients cannot hold
connections open without end. Writes within one turn of the event loop leave as one.

Shutdown (SIGTERM; uvicorn calls `shutdown` on every connection): a connection idle between
requests is closed at once; a request the app has gets its answer, then its connection closes;
a request whose body is still arriving is answered 503 at once, with Retry-After, for its
client to send again (to another task). A connection closed from then on is let go as soon as
what was written to it has reached the peer: the server does not wait for the peer's TLS
close_notify (uvloop would, up to 30 s, and the process with it).
"""

from __future__ import annotations

import asyncio
import fcntl
import logging
import struct
import termios
import time
from collections.abc import Callable, Sequence
from http import HTTPStatus
from typing import Any, ClassVar, cast

import orjson
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from payments_api.db import RETRY_AFTER_SECONDS
from payments_api.metrics import OTHER_ROUTE, emf_members
from payments_api.request_guards import (
    HEADERS_TOO_LARGE_DETAIL,
    MAX_BODY_BYTES,
    MAX_HEADER_BYTES,
    SECURITY_HEADERS,
)
from payments_api.request_log import ANSWERED_BY_PROTOCOL_STATE, write_request_line
from payments_api.settings import Settings

logger = logging.getLogger("payments_api.serve")


BAD_REQUEST_DETAIL = "not a valid HTTP request"


def _refusal(status: int, detail: str, headers: Sequence[bytes] = ()) -> bytes:
    """A complete JSON error response the protocol writes itself (the request never reaches
    the app): the documented body and the security headers every answer carries."""
    body = orjson.dumps({"detail": detail})
    lines = [
        f"HTTP/1.1 {status} {HTTPStatus(status).phrase}".encode(),
        b"content-type: application/json",
        b"content-length: " + str(len(body)).encode(),
        b"connection: close",
        *headers,
        *(f"{name}: {value}".encode() for name, value in SECURITY_HEADERS.items()),
    ]
    return b"\r\n".join(lines) + b"\r\n\r\n" + body


# At shutdown, how often a closing connection is checked for what it still has to deliver.
DELIVERY_CHECK_SECONDS = 0.01
# Linux's SIOCOUTQ (the same number as TIOCOUTQ): bytes of a TCP socket's send queue the peer
# has not acknowledged, sent or not. None where there is no such call (then 0 is assumed).
_UNACKNOWLEDGED_IOCTL: int | None = getattr(termios, "TIOCOUTQ", None)


def _unacknowledged_bytes(transport: asyncio.Transport) -> int:
    sock = transport.get_extra_info("socket")
    if sock is None or _UNACKNOWLEDGED_IOCTL is None:
        return 0
    try:
        answer = fcntl.ioctl(sock.fileno(), _UNACKNOWLEDGED_IOCTL, b"\0\0\0\0")
    except (OSError, ValueError):  # the socket is closed already: nothing left to deliver
        return 0
    count: int = struct.unpack("i", answer)[0]
    return count


class _CoalescingTransport:
    """A transport whose writes within one turn of the event loop leave as one: uvicorn
    writes a response's head and its body separately, and each write costs a TLS record and a
    send() (the system calls were a sixth of the API's CPU per request, measured with py-spy).

    Once `close_without_waiting` is called (shutdown), a close lets the connection go as soon
    as everything written to it, the TLS close_notify included, is delivered: the TLS layer's
    buffer is empty and the peer has acknowledged every byte the kernel holds for it. A TLS
    close otherwise waits for the peer's close_notify (uvloop: up to 30 s), and uvicorn's
    shutdown waits for every connection."""

    def __init__(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.Transport, transport)
        self._pending: list[bytes] = []
        self._without_waiting = False
        self._delivery_check: asyncio.TimerHandle | None = None
        self._lost = False

    def write(self, data: bytes) -> None:
        if not self._pending:
            asyncio.get_running_loop().call_soon(self._flush)
        self._pending.append(data)

    def _flush(self) -> None:
        if self._pending:
            data = b"".join(self._pending)
            self._pending.clear()
            if not self._transport.is_closing():
                self._transport.write(data)

    def close(self) -> None:
        self._flush()
        self._transport.close()
        if self._without_waiting:
            self._abort_once_delivered()

    def close_without_waiting(self) -> None:
        """From now on, close without waiting for the peer (a close under way included)."""
        self._without_waiting = True
        if self._transport.is_closing():
            self._abort_once_delivered()

    def lost(self) -> None:
        """The connection is gone: nothing more to check."""
        self._lost = True
        if self._delivery_check is not None:
            self._delivery_check.cancel()
            self._delivery_check = None

    def _abort_once_delivered(self) -> None:
        # Checked from the next turn of the loop on: a write is queued until the turn's end.
        if self._delivery_check is None and not self._lost:
            self._delivery_check = asyncio.get_running_loop().call_later(
                DELIVERY_CHECK_SECONDS, self._check_delivery
            )

    def _check_delivery(self) -> None:
        self._delivery_check = None
        if self._transport.get_write_buffer_size() or _unacknowledged_bytes(self._transport):
            self._abort_once_delivered()  # a slow reader: bounded by the graceful timeout
        else:
            self._transport.abort()  # delivered: close the socket, waiting for nothing more

    def __getattr__(self, name: str) -> Any:  # everything else is the real transport's
        return getattr(self._transport, name)


SHUTDOWN_DETAIL = "server shutting down, try again"
HEAD_TIMEOUT_DETAIL = "request head not received in time"
BODY_TIMEOUT_DETAIL = "request body not received in time"


class BoundedHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with a bound on request heads (431, then the connection
    closes, once the request line and headers pass MAX_HEADER_BYTES), deadlines for reading
    them and their bodies, and whose writes are coalesced (`_CoalescingTransport`).

    Read deadlines (`HEAD_TIMEOUT`, `BODY_TIMEOUT`; `protocol_for` sets them from the
    settings): a request head must be complete within HEAD_TIMEOUT of the connection's start
    (a TLS connection is made once its handshake is done) or, on a kept-alive connection, of
    the head's first byte (the keep-alive timeout, TIMEOUT_KEEP_ALIVE, closes a connection
    idle between requests); its body within BODY_TIMEOUT of the head. Past a deadline the
    connection is closed: silently if no byte of a request came, else with 408 if no response
    has begun.

    httptools hands each header over only once it is complete, and until then buffers it
    whole, so two counts: the parsed head (exact), and, while a head is being read, the raw
    bytes received, which may include the start of a body in the same read (hence the
    allowance of MAX_BODY_BYTES on top), so no head grows memory without bound.

    Its refusals (400, 431) never reach the app: it writes their request lines itself, so
    they count in the metrics (Requests, RequestsRefused) like the app's.
    """

    RAW_HEAD_LIMIT = MAX_HEADER_BYTES + MAX_BODY_BYTES
    HEAD_TIMEOUT: ClassVar[float] = Settings.model_fields["request_head_timeout"].default
    BODY_TIMEOUT: ClassVar[float] = Settings.model_fields["request_body_timeout"].default

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._refused = False
        self._reading_head = True
        self._raw_head_bytes = 0
        self._parsed_head_bytes = 0
        self._read_timer: asyncio.TimerHandle | None = None
        self._coalescing = _CoalescingTransport(transport)
        # uvloop's transports are not asyncio.Transport subclasses, hence the cast.
        super().connection_made(cast(asyncio.Transport, self._coalescing))
        self._arm(self.HEAD_TIMEOUT, self._head_timed_out)

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        self._coalescing.lost()
        super().connection_lost(exc)

    def shutdown(self) -> None:
        """uvicorn's graceful shutdown, on every connection: idle ones close at once (uvicorn),
        a request the app runs keeps its connection until answered (uvicorn), and one whose
        body is still arriving is answered 503 at once (the task is going away: its client
        may send it again, to a task that stays). No close waits for the peer's close_notify."""
        self._coalescing.close_without_waiting()
        if self._receiving_body():
            logger.info("request body still arriving at shutdown: refused with 503")
            self._refuse(
                503,
                SHUTDOWN_DETAIL,
                request_line=False,
                headers=(b"retry-after: " + RETRY_AFTER_SECONDS.encode(),),
            )
        else:
            super().shutdown()

    def _receiving_body(self) -> bool:
        """The request the app runs (none is queued behind it) has its head, not all its
        body, and no answer yet."""
        return (
            not self._reading_head
            and self.cycle is not None
            and not self.pipeline
            and not self.cycle.response_started
        )

    def _arm(self, seconds: float, expire: Callable[[], None]) -> None:
        self._disarm()
        self._read_timer = self.loop.call_later(seconds, expire)

    def _disarm(self) -> None:
        if self._read_timer is not None:
            self._read_timer.cancel()
            self._read_timer = None

    def _head_timed_out(self) -> None:
        self._read_timer = None
        if not self._raw_head_bytes:
            logger.info("connection idle past the head deadline: closed")
            self.transport.close()
            return
        logger.warning("request head not received in time: connection closed")
        # A 408, but never into a response under way (a pipelined request's).
        if self.cycle is None or self.cycle.response_complete:
            self._refuse(408, HEAD_TIMEOUT_DETAIL)
        else:
            self.transport.close()

    def _body_timed_out(self) -> None:
        self._read_timer = None
        logger.warning("request body not received in time: connection closed")
        if self.cycle is not None and not self.cycle.response_started:
            # The app has the request and writes its request line when it ends (it sees
            # the client gone): this one would count the request twice.
            self._refuse(408, BODY_TIMEOUT_DETAIL, request_line=False)
        else:  # the app answered without the body (401, 413, ...): nothing more to say
            self.transport.close()

    def data_received(self, data: bytes) -> None:
        if self._reading_head:
            if self._read_timer is None:  # the first bytes of a further request's head
                self._arm(self.HEAD_TIMEOUT, self._head_timed_out)
            self._raw_head_bytes += len(data)
            if self._raw_head_bytes > self.RAW_HEAD_LIMIT:
                self._refuse_head()
                return
        super().data_received(data)

    def _count(self, size: int) -> None:
        self._parsed_head_bytes += size
        if self._parsed_head_bytes > MAX_HEADER_BYTES:
            raise _HeadTooLargeError  # httptools stops parsing; send_400_response answers

    def on_message_begin(self) -> None:
        self._parsed_head_bytes = 0
        super().on_message_begin()

    def on_url(self, url: bytes) -> None:
        self._count(len(url))
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        self._count(len(name) + len(value) + 4)  # ": " and CRLF
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        self._reading_head = False
        self._arm(self.BODY_TIMEOUT, self._body_timed_out)
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        self._disarm()
        self._reading_head = True
        self._raw_head_bytes = 0
        super().on_message_complete()

    def send_400_response(self, msg: str) -> None:
        # uvicorn's own is text/plain without the security headers.
        if self._parsed_head_bytes > MAX_HEADER_BYTES:
            self._refuse_head()
        else:
            self._refuse(400, BAD_REQUEST_DETAIL)

    def _refuse_head(self) -> None:
        logger.warning("request head too large: refused with 431")
        self._refuse(431, HEADERS_TOO_LARGE_DETAIL)

    def _refuse(
        self,
        status: int,
        detail: str,
        *,
        request_line: bool = True,
        headers: Sequence[bytes] = (),
    ) -> None:
        """Answer and close, once per connection. The request never reaches the app, so its
        request line (with its metrics: Route `other`, no Latency) is written here; it has no
        request id, method or path (the head was not valid, too large, or too slow to read).
        Not for a body too slow or cut by the shutdown (`request_line=False`): the app has that
        request, and logs it with this status (`ANSWERED_BY_PROTOCOL_STATE`)."""
        if self._refused:
            return
        self._refused = True
        self._disarm()
        self.transport.write(_refusal(status, detail, headers))
        self.transport.close()
        if not request_line:
            # The app's line must say what the client got, and the app stop waiting for the
            # body at once: whatever it answers now is dropped (uvicorn writes nothing to a
            # disconnected request).
            self.cycle.scope["state"][ANSWERED_BY_PROTOCOL_STATE] = status
            self.cycle.disconnected = True
            self.cycle.message_event.set()
            return
        now = time.time()
        write_request_line(
            {"status": status, "refused_by": "http_parser"},
            emf_members(now, OTHER_ROUTE, status, None),
            now,
        )


class _HeadTooLargeError(Exception):
    pass


def protocol_for(settings: Settings) -> type[BoundedHttpToolsProtocol]:
    """`BoundedHttpToolsProtocol` with the read deadlines of `settings`."""

    class Protocol(BoundedHttpToolsProtocol):
        HEAD_TIMEOUT = settings.request_head_timeout
        BODY_TIMEOUT = settings.request_body_timeout

    return Protocol
