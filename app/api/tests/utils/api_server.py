"""The real API server (payments_local_servers.api.ApiServer) below what a client does:
requests no client would send, as raw bytes over TLS, and the server's log records once it has
written them.
"""

import json
import socket
import ssl
import time
from collections.abc import Callable, Iterator
from typing import Any

from payments_local_servers.api import ApiServer

from payments_api.cards import contains_card_number


def tls_connection(server: ApiServer, timeout: float) -> ssl.SSLSocket:
    """A TLS connection to `server` whose handshake is done; each read waits up to `timeout`."""
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=timeout)
    return server.ssl_context().wrap_socket(sock, server_hostname="127.0.0.1")


def raw_exchange(server: ApiServer, request: bytes) -> bytes:
    """Send `request` over TLS as it is (no client would send it) and return the answer."""
    with tls_connection(server, 5) as tls:
        tls.sendall(request)
        answer = b""
        try:
            while chunk := tls.recv(65536):
                answer += chunk
        except (TimeoutError, ssl.SSLError, ConnectionError):
            pass
    return answer


def read_until_closed(tls: ssl.SSLSocket) -> bytes:
    """Everything the server sends until it closes the connection (with its close_notify or
    without); TimeoutError if it keeps the connection open past the socket's timeout."""
    answer = b""
    try:
        while chunk := tls.recv(65536):
            answer += chunk
    except (ssl.SSLEOFError, ConnectionResetError):
        pass  # closed without a TLS close_notify: closed all the same
    return answer


def read_response(tls: ssl.SSLSocket) -> tuple[bytes, dict[str, str], bytes]:
    """One whole response (status line, lower-cased headers, Content-Length body), leaving the
    connection open; an interim 100 Continue is skipped. AssertionError if the server closes
    the connection first."""
    data = b""
    while True:
        while b"\r\n\r\n" not in data:
            chunk = tls.recv(65536)
            assert chunk, f"connection closed mid-response: {data!r}"
            data += chunk
        head, _, data = data.partition(b"\r\n\r\n")
        status_line, *lines = head.split(b"\r\n")
        if not status_line.startswith(b"HTTP/1.1 100 "):
            break
    headers = {}
    for line in lines:
        name, _, value = line.decode("latin-1").partition(":")
        headers[name.strip().lower()] = value.strip()
    length = int(headers["content-length"])
    while len(data) < length:
        chunk = tls.recv(65536)
        assert chunk, f"connection closed mid-body: {data!r}"
        data += chunk
    return status_line, headers, data[:length]


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield key
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def card_numbers_in_output(server: ApiServer) -> list[str]:
    """Every string of the server's output that holds a card number by the API's rule
    (`cards.contains_card_number`): each key and string value, at any depth, of a JSON line,
    and a line that is not JSON, whole. A JSON line's numbers (timestamps, latencies, counts)
    are the server's own, and by chance hold any four digits: an EMF timestamp ending in 4111
    once failed a bare `"4111" not in output`."""
    found = []
    for line in server.output().splitlines():
        try:
            strings = list(_strings(json.loads(line)))
        except ValueError:
            strings = [line]
        found += [string for string in strings if contains_card_number(string)]
    return found


def wait_for_records(
    server: ApiServer, select: Callable[[dict[str, Any]], bool], count: int, timeout: float = 30
) -> list[dict[str, Any]]:
    """The server's records that `select` picks, once there are `count` (lines are written
    after the response has gone out)."""
    deadline = time.monotonic() + timeout
    while True:
        records = [r for r in server.log_records() if select(r)]
        if len(records) >= count or time.monotonic() > deadline:
            return records
        time.sleep(0.05)
