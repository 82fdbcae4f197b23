"""`make dev`: the whole app on this machine, until Ctrl-C.

Starts, all on 127.0.0.1:

1. PostgreSQL over TLS in a temporary directory, with its own CA, and a `payments` database
   migrated as a deploy migrates it (`python -m payments_api.migrate` as its owner, the master
   user), with the API's login payments_api and the key CLI's payments_keys_cli
   (payments_local_servers, in app/local_servers);
2. the payments API over HTTPS on a free port (payments_local_servers.api), which writes its
   self-signed certificate into a temporary directory;
3. the web app's Vite dev server (`npm run dev` in app/web) on --port (default 5173), with
   `/api/*` proxied to the API. The proxy verifies the API's certificate against exactly that
   certificate (PAYMENTS_API_CA_FILE, read by app/web/vite.config.ts), never with verification
   switched off.

It also makes an API key for the client `dev` (as an operator would, with
`python -m payments_api.cli.api_keys create dev` as payments_keys_cli) and prints it once, just
before the URL: the page's payment form and list need one, pasted into its API key field. It is a
throwaway key on a throwaway database (gone at Ctrl-C), so showing it on the terminal is fine
here, and only here.

Each step is waited for by probing it until a deadline; the page's own path through the proxy
(`GET /api/readyz` on the Vite port) must answer 200 before the URL is printed. Ctrl-C or
SIGTERM stops Vite (its whole process group), the API and PostgreSQL, deletes the temporary
directories and exits 0.

    .venv/bin/python app/dev/run.py [--port 5173]
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import ipaddress
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from types import FrameType, TracebackType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from payments_local_servers.postgres import PostgresServer

REPO_ROOT = Path(__file__).resolve().parents[2]
WEB_DIR = REPO_ROOT / "app" / "web"
HOST = "127.0.0.1"
DEFAULT_PORT = 5173
DATABASE = "payments"
VITE_READY_SECONDS = 90.0  # the first start pre-bundles React
STOP_SECONDS = 10.0
READY_LINE = "Local stack ready: {url}  (Ctrl-C to stop)"
DEV_CLIENT = "dev"
KEY_LINE = "API key for client {client}: {key}"
KEY_HINT = (
    "  Paste it into the page's API key field to create and list payments "
    "(a throwaway key for this throwaway database; it is not shown again)."
)
# Never handed to Vite: the first would switch certificate checks off in Node, the second would
# send the page's API calls past the proxy.
DROPPED_VITE_ENV = ("NODE_TLS_REJECT_UNAUTHORIZED", "VITE_API_BASE_URL")


class StackError(Exception):
    """A failure to report as `make dev: <message>.`, without a traceback: what to install or
    change, or which server failed (with the end of its log)."""


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


def _check_tools() -> tuple[str, Path]:
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


def _check_port_free(port: int) -> None:
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


def _proc_stat(pid: int) -> list[str] | None:
    """/proc/<pid>/stat after the command name (state, ppid, pgrp, ...); None: no such process."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None


def _running(pid: int) -> bool:
    fields = _proc_stat(pid)
    return fields is not None and fields[0] != "Z"  # a zombie has exited


def _live_group_members(pgid: int) -> list[int]:
    """Processes of process group `pgid` that are still running."""
    members = []
    for entry in Path("/proc").glob("[0-9]*"):
        fields = _proc_stat(int(entry.name))
        if fields is not None and int(fields[2]) == pgid and fields[0] != "Z":
            members.append(int(entry.name))
    return members


def _signal_group(pgid: int, signum: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, signum)


def _wait_until(condition: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


class ViteServer:
    """`npm run dev` in app/web, in its own session and process group (npm starts a shell,
    which starts node): `stop` ends every process of it, and a terminal's Ctrl-C does not reach
    it, so this script stops it first, before the API and PostgreSQL."""

    def __init__(self, npm: str, port: int, env: Mapping[str, str]) -> None:
        self.npm = npm
        self.port = port
        self.env = dict(env)
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def __enter__(self) -> ViteServer:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def start(self) -> None:
        env = {k: v for k, v in os.environ.items() if k not in DROPPED_VITE_ENV}
        env.update(self.env)
        command = [self.npm, "run", "dev", "--", "--host", HOST, "--port", str(self.port)]
        command += ["--strictPort", "--clearScreen", "false"]
        self.process = subprocess.Popen(
            command, cwd=WEB_DIR, env=env, stdin=subprocess.DEVNULL, start_new_session=True
        )

    def _get(self, path: str, accept: str) -> int:
        connection = http.client.HTTPConnection(HOST, self.port, timeout=5)
        try:
            connection.request("GET", path, headers={"Accept": accept})
            return connection.getresponse().status
        finally:
            connection.close()

    def wait_until_ready(
        self, check_others: Callable[[], None], timeout: float = VITE_READY_SECONDS
    ) -> None:
        """Until the page and `/api/readyz` through the proxy both answer 200."""
        assert self.process is not None
        deadline = time.monotonic() + timeout
        last = "no answer"
        while time.monotonic() < deadline:
            _check_running([("the Vite dev server", self.process)])
            check_others()
            try:
                page = self._get("/", "text/html")
                api = self._get("/api/readyz", "application/json")
            except OSError as error:
                last = str(error)
            else:
                if page == 200 and api == 200:
                    return
                last = f"page HTTP {page}, /api/readyz HTTP {api}"
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(0.1)
        raise StackError(
            f"the Vite dev server on {self.url} was not serving the page and /api within "
            f"{timeout:.0f} s ({last}); its output is above"
        )

    def stop(self, timeout: float = STOP_SECONDS) -> None:
        """SIGTERM to the whole group, wait for every member, SIGKILL after `timeout`."""
        if self.process is None:
            return
        pgid = self.process.pid  # a session leader: its pid is the group id
        _signal_group(pgid, signal.SIGTERM)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            _signal_group(pgid, signal.SIGKILL)
            self.process.wait()
        if not _wait_until(lambda: not _live_group_members(pgid), timeout):
            _signal_group(pgid, signal.SIGKILL)
            _wait_until(lambda: not _live_group_members(pgid), timeout)
        self.process = None


def _check_running(processes: list[tuple[str, subprocess.Popen[bytes] | None]]) -> None:
    for name, process in processes:
        if process is not None and process.poll() is not None:
            raise StackError(f"{name} exited with code {process.returncode}")


class _Stop:
    """SIGINT and SIGTERM alike mean: stop everything and exit 0. The handler raises
    KeyboardInterrupt, except inside `_Stop.deferred()`, which raises it when it ends."""

    requested = False
    deferring = False

    @staticmethod
    def handler(signum: int, frame: FrameType | None) -> None:
        _Stop.requested = True
        if not _Stop.deferring:
            raise KeyboardInterrupt

    @staticmethod
    @contextlib.contextmanager
    def deferred() -> Iterator[None]:
        _Stop.deferring = True
        try:
            yield
        finally:
            _Stop.deferring = False
        if _Stop.requested:
            raise KeyboardInterrupt

    @staticmethod
    def ignore_further_signals() -> None:
        """Once stopping has begun, let nothing interrupt the clean-up half way."""
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)


def _remove_postgres_leftovers(server: PostgresServer) -> None:
    """After a start that failed half way (Ctrl-C reaches initdb too): `stop` leaves the
    directory when pg_ctl refuses to stop initdb's single-user backend. Wait for that process
    to exit, then delete the directory. After a normal `stop` there is nothing to do."""
    base: Path | None = server.base_dir
    if base is None:
        return
    pid_file = base / "data" / "postmaster.pid"

    def server_gone() -> bool:
        try:
            pid = int(pid_file.read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return True
        return not _running(pid)

    def removed() -> bool:
        shutil.rmtree(base, ignore_errors=True)
        return not base.exists()

    _wait_until(server_gone, STOP_SECONDS)
    _wait_until(removed, STOP_SECONDS)
    server.base_dir = None


def _start_postgres(stack: contextlib.ExitStack, bin_dir: Path) -> PostgresServer:
    from payments_local_servers.postgres import PostgresServer  # noqa: PLC0415

    server = PostgresServer(bin_dir)
    stack.callback(_remove_postgres_leftovers, server)  # runs after server.stop
    try:
        # A SIGTERM sent to this process alone waits until the server is up and is then
        # stopped cleanly, rather than abandoning initdb half way.
        with _Stop.deferred():
            stack.enter_context(server)
    except subprocess.CalledProcessError as error:
        output = error.stderr or error.stdout or ""
        raise StackError(f"{' '.join(error.cmd)} failed:\n{output.strip()}") from error
    except RuntimeError as error:  # "postgres did not start" and the end of its log
        raise StackError(str(error)) from error
    return server


def _say(line: str) -> None:
    print(line, flush=True)


def _run(stack: contextlib.ExitStack, port: int) -> None:
    npm, pg_bin = _check_tools()
    _check_port_free(port)
    from payments_local_servers.api import (  # noqa: PLC0415  (checked by _check_tools)
        ApiServer,
        create_api_key,
        create_app_database,
    )

    postgres = _start_postgres(stack, pg_bin)
    try:
        with _Stop.deferred():
            database = create_app_database(postgres, DATABASE)
    except (RuntimeError, subprocess.TimeoutExpired) as error:  # the migrations failed
        raise StackError(str(error)) from error
    _say(
        f"PostgreSQL over TLS: {HOST}:{postgres.port}, database {DATABASE} "
        f"(files in {postgres.base_dir})"
    )
    _say(f"  psql '{database.master.url}'  (the master user; the API logs in as payments_api)")

    work_dir = Path(tempfile.mkdtemp(prefix="payments-dev-"))
    stack.callback(shutil.rmtree, work_dir, ignore_errors=True)
    api = ApiServer(database.api.env(), work_dir / "api")
    stack.callback(api.stop)  # before start: an interrupted start is cleaned up too
    try:
        api.start()
    except RuntimeError as error:  # "API server exited" / "not live" and its output
        raise StackError(str(error)) from error
    ca_file: Path = api.certificate_path
    check_certificate_names(ca_file, HOST)
    _say(f"API over HTTPS: {api.base_url} (log {api.log_path})")
    _say(f"  /api proxied to it, trusting only its certificate {ca_file}")
    try:
        api_key = create_api_key(database.keys.env(), DEV_CLIENT)
    except (RuntimeError, subprocess.TimeoutExpired) as error:
        raise StackError(f"could not create an API key for the page: {error}") from error

    vite = ViteServer(
        npm, port, {"PAYMENTS_API_ORIGIN": api.base_url, "PAYMENTS_API_CA_FILE": str(ca_file)}
    )
    stack.callback(vite.stop)
    vite.start()

    def check_api() -> None:
        # Its log is in a directory that the clean-up deletes: show the end of it now.
        try:
            _check_running([("the API", api.process)])
        except StackError as error:
            raise StackError(f"{error}; the end of its log:\n{api.output()[-3000:]}") from None

    vite.wait_until_ready(check_api)
    _say(KEY_LINE.format(client=DEV_CLIENT, key=api_key))
    _say(KEY_HINT)
    _say(READY_LINE.format(url=vite.url))

    while True:  # until Ctrl-C / SIGTERM, or until a server dies
        _check_running([("the Vite dev server", vite.process)])
        check_api()
        assert vite.process is not None
        with contextlib.suppress(subprocess.TimeoutExpired):
            vite.process.wait(1.0)


def _port(text: str) -> int:
    port = int(text)
    if not 1 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{port} is not a TCP port")
    return port


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument(
        "--port", type=_port, default=DEFAULT_PORT, help="web app port (default 5173)"
    )
    args = parser.parse_args(argv)
    # SIGINT explicitly too: a shell starting this in the background may have ignored it.
    signal.signal(signal.SIGINT, _Stop.handler)
    signal.signal(signal.SIGTERM, _Stop.handler)
    try:
        with contextlib.ExitStack() as stack:
            try:
                _run(stack, args.port)
            except KeyboardInterrupt:
                _say("Stopping the local stack...")
            finally:
                _Stop.ignore_further_signals()
    except StackError as error:
        if not _Stop.requested:
            print(f"make dev: {error}.", file=sys.stderr, flush=True)
            return 1
        # Ctrl-C during start-up also reaches PostgreSQL's tools and the API, so some step
        # fails; that is the stop that was asked for, not an error.
    _say("Stopped; temporary files removed.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
