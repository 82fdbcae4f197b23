"""What `make dev` checks before it starts anything, each failure a StackError that says what
to install or change: Node.js with npm and app/web's node_modules, the local servers' Python
package, PostgreSQL's server binaries (and, as root, the postgres user), a free port; and,
once the API is up, that its certificate names the host the proxy verifies.
"""

from __future__ import annotations

import ipaddress
import os
import pwd
import shutil
import socket
from pathlib import Path
from typing import Any

from local_stack import HOST, WEB_DIR, StackError


def _import_local_servers() -> None:
    """Import the local servers (payments_local_servers and what it imports, installed in .venv
    by `make venv`), so that another Python ends in one sentence, not a traceback. The modules
    are imported where they are used, after this."""
    try:
        import payments_local_servers.api  # noqa: PLC0415
        import payments_local_servers.postgres  # noqa: PLC0415, F401
    except ModuleNotFoundError as error:
        raise StackError(
            f"the Python package {error.name!r} is missing: run `make venv` and use "
            ".venv/bin/python (or just `make dev`)"
        ) from error


def check_tools() -> tuple[str, Path]:
    """(npm, PostgreSQL bin directory), or a StackError saying what to install."""
    npm = shutil.which("npm")
    if npm is None or shutil.which("node") is None:
        raise StackError(
            "Node.js 20.19+ with npm is not on PATH: install it (Debian: apt-get install nodejs "
            "npm, or from nodejs.org) and run again"
        )
    if not (WEB_DIR / "node_modules" / ".bin" / "vite").exists():
        raise StackError("app/web has no node_modules: run `npm ci` in app/web (`make dev` does)")
    _import_local_servers()
    from payments_local_servers.postgres import find_postgres_bin  # noqa: PLC0415

    try:
        bin_dir = find_postgres_bin()
    except FileNotFoundError as error:
        raise StackError(str(error)) from error
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            raise StackError(
                "as root, PostgreSQL has to run as the user postgres, which does not exist: "
                "install the Debian package postgresql (it adds the user) or run as another user"
            ) from None
    return npm, bin_dir


def check_port_free(port: int) -> None:
    with socket.socket() as sock:
        # As Node binds: SO_REUSEADDR, so connections in TIME_WAIT do not count as "in use".
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((HOST, port))
        except OSError as error:
            raise StackError(
                f"port {port} on {HOST} is in use ({error.strerror}): stop whatever holds it or "
                "choose another with --port"
            ) from error


def check_certificate_names(cert_path: Path, host: str) -> None:
    """The certificate names `host` (IP or DNS) in its subjectAltName, as the proxy requires."""
    from cryptography import x509  # noqa: PLC0415  (a venv package: imported after the checks)

    certificate = x509.load_pem_x509_certificate(cert_path.read_bytes())
    names = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    try:
        wanted: object = ipaddress.ip_address(host)
        present: list[Any] = names.get_values_for_type(x509.IPAddress)
    except ValueError:
        wanted = host
        present = names.get_values_for_type(x509.DNSName)
    if wanted not in present:
        raise StackError(
            f"the API's certificate {cert_path} does not name {host} in its subjectAltName, so "
            "the proxy could not verify it"
        )
