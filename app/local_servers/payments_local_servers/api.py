"""The real API server (`python -m payments_api.serve`) in a subprocess, over HTTPS on a free
loopback port. Free of pytest and of the API's `tests` package, so the API's tests, the browser
test, `make dev` and the benchmark all import it.

The server runs from this checkout's app/api (the package is installed editable, so it finds
that directory next to its own).

The server writes its self-signed certificate under TMPDIR; pointing TMPDIR into the work
directory lets clients verify it (`ssl_context`) instead of switching verification off.

The API runs no DDL and logs in as `payments_api`, a role its migrations make:
`create_app_database` makes a database as a deploy does (`python -m payments_api.migrate` as
the database's owner, with the logins' passwords) and returns how each user reaches it.

`start()` returns once the server is live (/healthz answers); liveness never waits for the
database, so a caller about to use it calls `wait_until_ready()` (/readyz answers 200) first.
Every wait here polls for the state it needs; its timeout only bounds a failure, so it is
generous enough for a loaded machine.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx2

from payments_local_servers.lifecycle import StartStop
from payments_local_servers.postgres import DatabaseCredentials, PostgresServer

# app/local_servers/payments_local_servers/api.py -> app/api
API_DIR = Path(__file__).resolve().parents[2] / "api"
# Generous: each wait returns as soon as its state is reached; these only bound a failure.
START_TIMEOUT_SECONDS = 60.0
READY_TIMEOUT_SECONDS = 60.0
LOG_TIMEOUT_SECONDS = 30.0
REQUEST_TIMEOUT_SECONDS = 30.0
# The migrations: a few statements, after Python's start.
MIGRATE_TIMEOUT_SECONDS = 120.0
# The logins of the API and of the key CLI: the first of payments_api.roles.APP_LOGIN_USERS and
# KEYS_LOGIN_USERS (the API's tests check that they are).
API_LOGIN = "payments_api"
KEYS_LOGIN = "payments_keys_cli"


@dataclass(frozen=True)
class AppDatabase:
    """A database migrated by the API's migrations, and how each of its users reaches it."""

    master: DatabaseCredentials
    """The database's owner, a superuser (the master user): ran the migrations, owns the
    tables. Never what the API or the key CLI connect as."""
    api: DatabaseCredentials
    """The API's login (payments_api): reads and inserts payments, reads keys."""
    keys: DatabaseCredentials
    """The key CLI's login (payments_keys_cli): reads, inserts and revokes keys."""


def _api_command(
    module: str, *args: str, env: Mapping[str, str], timeout: float
) -> subprocess.CompletedProcess[str]:
    """`python -m module args` from app/api with `env` and nothing else of this process's
    environment (a DATABASE_URL there would win over the settings given)."""
    return subprocess.run(
        [sys.executable, "-m", module, *args],
        cwd=API_DIR,
        env={
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "PYTHONDONTWRITEBYTECODE": "1",
            **env,
        },
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def run_migrations(
    master: DatabaseCredentials,
    api: DatabaseCredentials | None = None,
    keys: DatabaseCredentials | None = None,
) -> str:
    """`python -m payments_api.migrate` as a deploy runs it: connected as `master`, with the
    API's and the key CLI's logins (APP_DB_* and KEYS_DB_*) when given. Its output."""
    env = dict(master.env())
    if api is not None:
        env.update(APP_DB_USER=api.user, APP_DB_PASSWORD=api.password)
    if keys is not None:
        env.update(KEYS_DB_USER=keys.user, KEYS_DB_PASSWORD=keys.password)
    completed = _api_command("payments_api.migrate", env=env, timeout=MIGRATE_TIMEOUT_SECONDS)
    if completed.returncode != 0:
        raise RuntimeError(f"payments_api.migrate failed: {completed.stderr.strip()}")
    return completed.stdout


def create_app_database(server: PostgresServer, name: str) -> AppDatabase:
    """A database `name` with the API's schema, as a deploy leaves it: owned by a superuser
    `name` (PostgresServer.create_database), migrated as that master user, and the API's and
    the key CLI's logins working with this server's passwords for them (`role_password`:
    roles belong to the server, so every database of it shares them)."""
    master = server.create_database(name, superuser=True)
    api = master.as_user(API_LOGIN, server.role_password(API_LOGIN))
    keys = master.as_user(KEYS_LOGIN, server.role_password(KEYS_LOGIN))
    run_migrations(master, api, keys)
    return AppDatabase(master, api, keys)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def create_api_key(env: Mapping[str, str], client_id: str) -> str:
    """A new API key for `client_id`, made as an operator makes one: the key CLI
    (`python -m payments_api.cli.api_keys create`) with the database settings `env` (the key CLI's
    login: `AppDatabase.keys.env()`) and nothing else of this process's environment."""
    completed = _api_command(
        "payments_api.cli.api_keys", "create", client_id, env=env, timeout=REQUEST_TIMEOUT_SECONDS
    )
    if completed.returncode != 0:
        raise RuntimeError(f"payments_api.cli.api_keys create failed: {completed.stderr.strip()}")
    return completed.stdout.strip()


class ApiServer(StartStop):
    def __init__(self, env: Mapping[str, str], work_dir: Path) -> None:
        self.env = dict(env)
        self.work_dir = work_dir
        self.port = 0
        self.process: subprocess.Popen[bytes] | None = None
        self.log_path = work_dir / "server.log"

    @property
    def base_url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    def start(self, timeout: float = START_TIMEOUT_SECONDS) -> None:
        tmp_dir = self.work_dir / "tmp"
        tmp_dir.mkdir(parents=True, exist_ok=True)
        self.port = _free_port()
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "TMPDIR": str(tmp_dir),
            "HOST": "127.0.0.1",
            "PORT": str(self.port),
            "PYTHONDONTWRITEBYTECODE": "1",
            **self.env,
        }
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "payments_api.serve"],
                cwd=API_DIR,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        self._wait_until_live(timeout)

    def _wait_until_live(self, timeout: float) -> None:
        assert self.process is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"API server exited:\n{self.output()}")
            try:
                with self.client() as client:
                    if client.get("/healthz").status_code == 200:
                        return
            except (httpx2.TransportError, FileNotFoundError, ssl.SSLError):
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"API server not live after {timeout} s:\n{self.output()}")

    def wait_until_ready(self, timeout: float = READY_TIMEOUT_SECONDS) -> None:
        """Wait until /readyz answers 200: the pool has a connection and the schema exists.
        The server is live before its database is usable (the pool connects in the
        background), so a request that needs the database must not be sent before this."""
        assert self.process is not None
        deadline = time.monotonic() + timeout
        last = "no answer yet"
        with self.client() as client:
            while True:
                if self.process.poll() is not None:
                    raise RuntimeError(f"API server exited:\n{self.output()}")
                try:
                    response = client.get("/readyz")
                    if response.status_code == 200:
                        return
                    last = f"HTTP {response.status_code} {response.text}"
                except httpx2.TransportError as error:
                    last = repr(error)
                if time.monotonic() > deadline:
                    raise RuntimeError(
                        f"API server not ready after {timeout} s ({last}):\n{self.output()}"
                    )
                time.sleep(0.1)

    @property
    def certificate_path(self) -> Path:
        paths = sorted((self.work_dir / "tmp").glob("payments-api-tls-*/cert.pem"))
        if not paths:
            raise FileNotFoundError("the server has not written its certificate yet")
        return paths[-1]

    def ssl_context(self) -> ssl.SSLContext:
        """Trusts exactly the server's self-signed certificate."""
        return ssl.create_default_context(cafile=str(self.certificate_path))

    def client(self, api_key: str | None = None, **kwargs: Any) -> httpx2.Client:
        """An HTTPS client that verifies the server's certificate; with `api_key`, every
        request carries it (`Authorization: Bearer`)."""
        headers = dict(kwargs.pop("headers", {}))
        if api_key is not None:
            headers["Authorization"] = f"Bearer {api_key}"
        return httpx2.Client(
            base_url=self.base_url,
            verify=self.ssl_context(),
            timeout=REQUEST_TIMEOUT_SECONDS,
            headers=headers,
            **kwargs,
        )

    def output(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def log_records(self) -> list[dict[str, Any]]:
        """The JSON lines the server printed (lines that are not JSON are skipped)."""
        records = []
        for line in self.output().splitlines():
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                continue
            if isinstance(record, dict):
                records.append(record)
        return records

    def wait_for_log_records(
        self, request_id: str, timeout: float = LOG_TIMEOUT_SECONDS
    ) -> list[dict[str, Any]]:
        """The records carrying `request_id`, waiting for the first one: the server writes its
        request line after the response has gone out, so a client can be faster than the log."""
        deadline = time.monotonic() + timeout
        while True:
            records = [r for r in self.log_records() if r.get("request_id") == request_id]
            if records or time.monotonic() > deadline:
                return records
            time.sleep(0.05)

    def terminate(self) -> None:
        """Send SIGTERM, as ECS does to stop a task."""
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)

    def stop(self, timeout: float = 30.0) -> int | None:
        """SIGTERM, wait, and return the exit code (SIGKILL after `timeout`)."""
        if self.process is None:
            return None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode
