"""Container entry point: `python -m payments_api.serve`.

Generates a self-signed certificate into a new directory under /tmp (the ALB speaks TLS to
the task but does not verify target certificates, and the root filesystem may be read-only),
then runs uvicorn over HTTPS on PORT (8443): TLS 1.2 AEAD suites (and TLS 1.3) only, on
uvloop with the httptools (llhttp) parser, the fastest pair uvicorn offers (bench/api_bench.py),
in the protocol of `http_protocol.py`: bounded request heads, and deadlines for reading them and
their bodies.

A connection idle between requests is kept TIMEOUT_KEEP_ALIVE seconds (65): longer than the
ALB's idle timeout (60), so the ALB, not the API, closes it (AWS's advice; else a request the
ALB sends on a connection the API is closing is a 502).

Shutdown: on SIGTERM uvicorn stops accepting connections and the protocol closes idle ones at
once (`http_protocol.py`), in-flight requests finish for up to TIMEOUT_GRACEFUL_SHUTDOWN
seconds (25, below the ECS stop timeout of 30), then the lifespan closes the database pool, and
the process exits 0.
"""

from __future__ import annotations

import datetime
import gc
import ipaddress
import logging
import os
import signal
import socket
import tempfile
from pathlib import Path
from types import FrameType

import uvicorn
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from payments_api.http_protocol import protocol_for
from payments_api.main import create_app
from payments_api.request_log import configure_logging
from payments_api.settings import Settings

logger = logging.getLogger("payments_api.serve")  # not __main__ under python -m

CERTIFICATE_DAYS = 365
# The cyclic collector's threshold for its youngest generation (Python's default: 700).
YOUNGEST_GENERATION_THRESHOLD = 10_000
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
        timeout_keep_alive=settings.timeout_keep_alive,
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
    # A collection of the youngest generation every 10,000 net new container objects, not
    # Python's 700: the requests leave no cyclic garbage, yet the objects of the requests in
    # flight crossed 700 over and over (about 160 collections a second at 1,000 POST/s, some
    # 2% of the API's CPU, measured with a gc.callbacks hook). Memory: at most about 10,000
    # more objects waiting for a collection. docs/performance.md has the benchmark runs.
    gc.set_threshold(YOUNGEST_GENERATION_THRESHOLD, *gc.get_threshold()[1:])
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
