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

This file is the sequence; its parts are the modules beside it, imported by their plain names
because Python puts a script's own directory first on sys.path: local_stack (paths, the host,
StackError), stack_checks (what is checked before anything starts), stack_processes
(processes through /proc) and vite_server (the Vite dev server).
"""

from __future__ import annotations

import argparse
import contextlib
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING

from local_stack import HOST, STOP_SECONDS, StackError
from stack_checks import check_certificate_names, check_port_free, check_tools
from stack_processes import check_running, is_running, wait_until
from vite_server import ViteServer

if TYPE_CHECKING:
    from payments_local_servers.postgres import PostgresServer

DEFAULT_PORT = 5173
DATABASE = "payments"
READY_LINE = "Local stack ready: {url}  (Ctrl-C to stop)"
DEV_CLIENT = "dev"
KEY_LINE = "API key for client {client}: {key}"
KEY_HINT = (
    "  Paste it into the page's API key field to create and list payments "
    "(a throwaway key for this throwaway database; it is not shown again)."
)


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
        return not is_running(pid)

    def removed() -> bool:
        shutil.rmtree(base, ignore_errors=True)
        return not base.exists()

    wait_until(server_gone, STOP_SECONDS)
    wait_until(removed, STOP_SECONDS)
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
    npm, pg_bin = check_tools()
    check_port_free(port)
    from payments_local_servers.api import (  # noqa: PLC0415  (checked by check_tools)
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

    # Before the API starts: it loads the keys at its first authenticated request, then every
    # API_KEY_CACHE_SECONDS, and a key made after a load works only from the next one.
    try:
        api_key = create_api_key(database.keys.env(), DEV_CLIENT)
    except (RuntimeError, subprocess.TimeoutExpired) as error:
        raise StackError(f"could not create an API key for the page: {error}") from error
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

    vite = ViteServer(
        npm, port, {"PAYMENTS_API_ORIGIN": api.base_url, "PAYMENTS_API_CA_FILE": str(ca_file)}
    )
    stack.callback(vite.stop)
    vite.start()

    def check_api() -> None:
        # Its log is in a directory that the clean-up deletes: show the end of it now.
        try:
            check_running([("the API", api.process)])
        except StackError as error:
            raise StackError(f"{error}; the end of its log:\n{api.output()[-3000:]}") from None

    vite.wait_until_ready(check_api)
    _say(KEY_LINE.format(client=DEV_CLIENT, key=api_key))
    _say(KEY_HINT)
    _say(READY_LINE.format(url=vite.url))

    while True:  # until Ctrl-C / SIGTERM, or until a server dies
        check_running([("the Vite dev server", vite.process)])
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
