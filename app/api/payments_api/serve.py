"""Container entry point: `python -m payments_api.serve`.

Generates a self-signed certificate into a new directory under /tmp (the ALB speaks TLS to
the task but does not verify target certificates, and the root filesystem may be read-only),
then runs uvicorn over HTTPS on PORT (8443): TLS 1.2 AEAD suites (and TLS 1.3) only, on
uvloop with the httptools (llhttp) parser, the fastest pair uvicorn offers (bench/api_bench.py).
Request heads (request line and headers) are bounded to 8 KiB by `BoundedHttpToolsProtocol`
(httptools itself has no limit); bodies are bounded by the app. Reading them is bounded in
time too (uvicorn has no such bound): a head must arrive within REQUEST_HEAD_TIMEOUT of the
connection's start or of its first byte, a body within REQUEST_BODY_TIMEOUT of its head, or the
connection is closed (408 when a request was begun), so slow or idle clients cannot hold
connections open without end.

Shutdown: on SIGTERM uvicorn stops accepting connections, lets in-flight requests finish for
up to TIMEOUT_GRACEFUL_SHUTDOWN seconds (25, below the ECS stop timeout of 30), then the
lifespan closes the database pool, and the process exits 0.
"""

from __future__ import annotations

import asyncio
import datetime
import gc
import ipaddress
import logging
import os
import signal
import socket
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import Any, ClassVar, cast

import orjson
import uvicorn
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from payments_api.main import create_app
from payments_api.metrics import OTHER_ROUTE, emf_members
from payments_api.request_guards import (
    HEADERS_TOO_LARGE_DETAIL,
    MAX_BODY_BYTES,
    MAX_HEADER_BYTES,
    SECURITY_HEADERS,
)
from payments_api.request_log import configure_logging, write_request_line
from payments_api.settings import Settings

logger = logging.getLogger("payments_api.serve")  # not __main__ under python -m

CERTIFICATE_DAYS = 365
# TLS 1.2 suites with forward secrecy and AEAD only (no CBC, no RSA key exchange); TLS 1.3
# suites are all AEAD and are not affected by this string.
TLS12_CIPHERS = "ECDHE+AESGCM:ECDHE+CHACHA20"


def write_self_signed_certificate(directory: Path) -> tuple[Path, Path]:
    """Write cert.pem and key.pem (P-256, readable by this user only); return their paths."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "payments-api")])
    now = datetime.datetime.now(datetime.UTC)
    alt_names: list[x509.GeneralName] = [
        x509.DNSName("localhost"),
        x509.DNSName(socket.gethostname()),
        x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
    ]
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=CERTIFICATE_DAYS))
        .add_extension(x509.SubjectAlternativeName(alt_names), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path = directory / "cert.pem"
    key_path = directory / "key.pem"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_bytes = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as key_file:
        key_file.write(key_bytes)
    return cert_path, key_path


BAD_REQUEST_DETAIL = "not a valid HTTP request"


def _refusal(status_line: bytes, detail: str) -> bytes:
    """A complete JSON error response the protocol writes itself (the request never reaches
    the app): the documented body and the security headers every answer carries."""
    body = orjson.dumps({"detail": detail})
    lines = [
        status_line,
        b"content-type: application/json",
        b"content-length: " + str(len(body)).encode(),
        b"connection: close",
        *(f"{name}: {value}".encode() for name, value in SECURITY_HEADERS.items()),
    ]
    return b"\r\n".join(lines) + b"\r\n\r\n" + body


class _CoalescingTransport:
    """A transport whose writes within one turn of the event loop leave as one: uvicorn
    writes a response's head and its body separately, and each write costs a TLS record and a
    send() (the system calls were a sixth of the API's CPU per request, measured with py-spy)."""

    def __init__(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.Transport, transport)
        self._pending: list[bytes] = []

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

    def __getattr__(self, name: str) -> Any:  # everything else is the real transport's
        return getattr(self._transport, name)


HEAD_TIMEOUT_DETAIL = "request head not received in time"
BODY_TIMEOUT_DETAIL = "request body not received in time"
REQUEST_TIMEOUT_LINE = b"HTTP/1.1 408 Request Timeout"


class BoundedHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with a bound on request heads (431, then the connection
    closes, once the request line and headers pass MAX_HEADER_BYTES), deadlines for reading
    them and their bodies, and whose writes are coalesced (`_CoalescingTransport`).

    Read deadlines (`HEAD_TIMEOUT`, `BODY_TIMEOUT`; `protocol_for` sets them from the
    settings): a request head must be complete within HEAD_TIMEOUT of the connection's start
    (a TLS connection is made once its handshake is done) or, on a kept-alive connection, of
    the head's first byte (uvicorn's keep-alive timeout closes a connection idle between
    requests); its body within BODY_TIMEOUT of the head. Past a deadline the connection is
    closed: silently if no byte of a request came, else with 408 if no response has begun.

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
        # uvloop's transports are not asyncio.Transport subclasses, hence the cast.
        super().connection_made(cast(asyncio.Transport, _CoalescingTransport(transport)))
        self._arm(self.HEAD_TIMEOUT, self._head_timed_out)

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

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
            self._refuse(408, REQUEST_TIMEOUT_LINE, HEAD_TIMEOUT_DETAIL)
        else:
            self.transport.close()

    def _body_timed_out(self) -> None:
        self._read_timer = None
        logger.warning("request body not received in time: connection closed")
        if self.cycle is not None and not self.cycle.response_started:
            # The app has the request and writes its request line when it ends (it sees
            # the client gone): this one would count the request twice.
            self._refuse(408, REQUEST_TIMEOUT_LINE, BODY_TIMEOUT_DETAIL, request_line=False)
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
            self._refuse(400, b"HTTP/1.1 400 Bad Request", BAD_REQUEST_DETAIL)

    def _refuse_head(self) -> None:
        logger.warning("request head too large: refused with 431")
        self._refuse(431, b"HTTP/1.1 431 Request Header Fields Too Large", HEADERS_TOO_LARGE_DETAIL)

    def _refuse(
        self, status: int, status_line: bytes, detail: str, *, request_line: bool = True
    ) -> None:
        """Answer and close, once per connection. The request never reaches the app, so its
        request line (with its metrics: Route `other`, no Latency) is written here; it has no
        request id, method or path (the head was not valid, too large, or too slow to read).
        Not for a body too slow (`request_line=False`): the app has that request, and logs it."""
        if self._refused:
            return
        self._refused = True
        self.transport.write(_refusal(status_line, detail))
        self.transport.close()
        if not request_line:
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


def _exit_cleanly(signum: int, _: FrameType | None) -> None:
    # Before uvicorn starts: stop at once. After its graceful shutdown uvicorn re-raises the
    # signal it caught to this handler; exiting 0 tells ECS the stop was clean.
    raise SystemExit(0)


def main() -> None:
    settings = Settings()
    configure_logging(settings.log_level)
    signal.signal(signal.SIGTERM, _exit_cleanly)
    signal.signal(signal.SIGINT, _exit_cleanly)
    tls_dir = Path(tempfile.mkdtemp(prefix="payments-api-tls-"))
    cert_path, key_path = write_self_signed_certificate(tls_dir)
    config = uvicorn.Config(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        ssl_certfile=str(cert_path),
        ssl_keyfile=str(key_path),
        ssl_ciphers=TLS12_CIPHERS,
        loop="uvloop",
        http=protocol_for(settings),
        timeout_graceful_shutdown=settings.timeout_graceful_shutdown,
        log_config=None,  # configure_logging already sends uvicorn's records out as JSON
        access_log=False,  # RequestLogMiddleware writes the one line per request
        server_header=False,
        # The ALB's X-Forwarded-For is not used (nothing logs client addresses): skip the
        # middleware uvicorn would put in front of every request.
        proxy_headers=False,
        lifespan="on",
    )
    # Everything made so far (modules, the app, its routes and models) lives as long as the
    # process: out of the cyclic collector's sight, it is not traversed again on every
    # collection of the oldest generation (a few per cent of CPU per request, measured).
    gc.freeze()
    # The commit once per task, at start: a task never changes image, so each request line
    # need not repeat it (the log stream names the task).
    logger.info(
        "starting HTTPS server",
        extra={
            "port": settings.port,
            "version": settings.app_version,
            "commit": settings.git_commit,
        },
    )
    uvicorn.Server(config).run()


if __name__ == "__main__":
    main()
