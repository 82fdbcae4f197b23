"""`make dev`'s Vite dev server (app/dev/vite_server.py) really verifies the API's certificate
through its `/api` proxy: against a stand-in API whose certificate is known, only the API's CA
file and a certificate naming 127.0.0.1 get the request through."""

from __future__ import annotations

import contextlib
import datetime
import http.client
import ipaddress
import json
import shutil
import ssl
import subprocess
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from payments_local_servers.certificates import generate_ca
from support import free_port
from vite_server import ViteServer

VITE_START_SECONDS = 120.0  # Vite's first start pre-bundles React


class _Upstream(BaseHTTPRequestHandler):
    hits: list[str] = []  # noqa: RUF012  (one list for the test module)

    def do_GET(self) -> None:
        _Upstream.hits.append(self.path)
        body = json.dumps({"status": "ready"}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


def _certificate_for(ca: Any, name: x509.GeneralName) -> tuple[bytes, bytes]:
    """(certificate, key) PEM naming only `name`, signed by `ca`."""
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "stand-in API")]))
        .issuer_name(ca.certificate.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([name]), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(ca.key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return cert.public_bytes(serialization.Encoding.PEM), key_pem


@contextlib.contextmanager
def _https_upstream(cert_pem: bytes, key_pem: bytes, tmp_path: Path) -> Iterator[str]:
    (tmp_path / "up.crt").write_bytes(cert_pem)
    (tmp_path / "up.key").write_bytes(key_pem)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(tmp_path / "up.crt", tmp_path / "up.key")
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Upstream)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"https://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def _get(port: int, path: str, accept: str) -> int:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request("GET", path, headers={"Accept": accept})
        return connection.getresponse().status
    finally:
        connection.close()


def _proxied_status(origin: str, ca_file: Path | None) -> int:
    """The status of GET /api/readyz through a fresh Vite dev server proxying to `origin`."""
    npm = shutil.which("npm")
    if npm is None:
        pytest.fail("no npm on PATH: install Node.js 20.19+ with npm")
    env = {"PAYMENTS_API_ORIGIN": origin, "PAYMENTS_API_CA_FILE": str(ca_file or "")}
    vite = ViteServer(npm, free_port(), env)
    vite.start()
    process = vite.process
    assert process is not None
    try:
        deadline = time.monotonic() + VITE_START_SECONDS
        while True:  # until the dev server answers at all
            assert process.poll() is None, "vite exited"
            with contextlib.suppress(OSError):
                if _get(vite.port, "/", "text/html") == 200:
                    break
            assert time.monotonic() < deadline, "vite did not start"
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(0.1)
        return _get(vite.port, "/api/readyz", "application/json")
    finally:
        vite.stop()


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        ("the API's CA", 200),
        ("another CA", 502),
        ("no CA file: Node's default CAs", 502),
        ("the API's CA, but the certificate names another host", 502),
    ],
)
def test_the_dev_proxy_verifies_the_api_certificate(
    case: str, expected: int, tmp_path: Path
) -> None:
    api_ca = generate_ca("stand-in API CA")
    named = (
        x509.DNSName("elsewhere.test")
        if "another host" in case
        else x509.IPAddress(ipaddress.ip_address("127.0.0.1"))
    )
    cert_pem, key_pem = _certificate_for(api_ca, named)
    ca_file = tmp_path / "ca.pem"
    if case == "another CA":
        ca_file.write_bytes(generate_ca("some other CA").cert_pem)
    else:
        ca_file.write_bytes(api_ca.cert_pem)
    _Upstream.hits.clear()
    with _https_upstream(cert_pem, key_pem, tmp_path) as origin:
        status = _proxied_status(origin, None if case.startswith("no CA") else ca_file)
    assert status == expected, case
    # Refused at the TLS handshake: the stand-in never saw the request.
    assert _Upstream.hits == (["/api/readyz"] if expected == 200 else []), case
