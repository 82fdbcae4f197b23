"""A throwaway PostgreSQL server over TLS for tests, end-to-end runs and benchmarks.

`PostgresServer` creates a test CA and a server certificate for localhost/127.0.0.1
(payments_local_servers.certificates), initdb's a fresh data directory in a temporary
directory, and starts postgres on a free loopback port with ssl=on and only `hostssl ...
scram-sha-256` lines in pg_hba.conf (unix sockets stay inside the temporary directory).
`create_database` makes a role and a database owned by it; `stop` (or leaving the `with`
block) removes everything.
Roles belong to the whole server: `role_password` keeps one password per role name for every
database of the server (the API's login roles, made by its migrations, are such roles).

Free of pytest, so other code can import it. It can also run on its own, printing the
settings to connect with, until Ctrl-C:

    .venv/bin/python -m payments_local_servers.postgres

The server binaries come from the newest /usr/lib/postgresql/*/bin (Debian package
postgresql). initdb and postgres refuse to run as root, so as root they run as the
`postgres` user with the temporary directory owned by it.
"""

from __future__ import annotations

import dataclasses
import os
import pwd
import secrets
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import psycopg
from psycopg import sql

from payments_local_servers.certificates import (
    CertificateAuthority,
    generate_ca,
    issue_server_certificate,
)
from payments_local_servers.lifecycle import StartStop

POSTGRES_ROOT = Path("/usr/lib/postgresql")
SUPERUSER = "postgres"
START_TIMEOUT_SECONDS = 30


def find_postgres_bin(root: Path = POSTGRES_ROOT) -> Path:
    """The newest <root>/<version>/bin that has initdb, pg_ctl and postgres."""
    candidates = []
    for bin_dir in root.glob("*/bin"):
        if all((bin_dir / tool).is_file() for tool in ("initdb", "pg_ctl", "postgres")):
            version = tuple(int(part) for part in bin_dir.parent.name.split(".") if part.isdigit())
            candidates.append((version, bin_dir))
    if not candidates:
        raise FileNotFoundError(
            f"no PostgreSQL server binaries (initdb, pg_ctl, postgres) under {root}/*/bin; "
            "install the Debian package postgresql"
        )
    return max(candidates)[1]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass(frozen=True)
class DatabaseCredentials:
    """How to reach one database of the server, over TLS verified against `sslrootcert`."""

    host: str
    port: int
    dbname: str
    user: str
    password: str
    sslrootcert: Path

    @property
    def url(self) -> str:
        return (
            f"postgresql://{self.user}:{self.password}@{self.host}:{self.port}/{self.dbname}"
            f"?sslmode=verify-full&sslrootcert={self.sslrootcert}"
        )

    def as_user(self, user: str, password: str) -> DatabaseCredentials:
        """The same database, reached as another role."""
        return dataclasses.replace(self, user=user, password=password)

    def conninfo(self) -> str:
        return psycopg.conninfo.make_conninfo(
            host=self.host,
            port=self.port,
            dbname=self.dbname,
            user=self.user,
            password=self.password,
            sslmode="verify-full",
            sslrootcert=str(self.sslrootcert),
        )

    def env(self) -> dict[str, str]:
        """The payments API's settings for this database."""
        return {
            "DB_HOST": self.host,
            "DB_PORT": str(self.port),
            "DB_NAME": self.dbname,
            "DB_USER": self.user,
            "DB_PASSWORD": self.password,
            "DB_SSLROOTCERT": str(self.sslrootcert),
        }


class PostgresServer(StartStop):
    """One PostgreSQL server in a temporary directory. Use as a context manager, or call
    `start()` and `stop()`."""

    def __init__(self, bin_dir: Path | None = None) -> None:
        self.bin_dir = bin_dir or find_postgres_bin()
        self.host = "localhost"
        self.port = 0
        self.superuser_password = secrets.token_urlsafe(16)
        self.base_dir: Path | None = None
        self.ca: CertificateAuthority | None = None
        self._role_passwords: dict[str, str] = {}
        self._run_as_postgres = os.geteuid() == 0

    # Paths inside the temporary directory.
    @property
    def data_dir(self) -> Path:
        return self._base / "data"

    @property
    def ca_path(self) -> Path:
        """The test CA's certificate: the API's DB_SSLROOTCERT."""
        return self._base / "ca.pem"

    @property
    def log_path(self) -> Path:
        return self._base / "postgres.log"

    @property
    def _base(self) -> Path:
        if self.base_dir is None:
            raise RuntimeError("the server has not been started")
        return self.base_dir

    def start(self) -> None:
        self.base_dir = Path(tempfile.mkdtemp(prefix="payments-pg-"))
        try:
            self._write_certificates()
            self._initdb()
            self._configure()
            self._start_server()
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        """Stop the server (fast shutdown) and delete the temporary directory."""
        if self.base_dir is None:
            return
        if (self.data_dir / "postmaster.pid").exists():
            self._run(self._tool("pg_ctl"), "-D", str(self.data_dir), "-m", "fast", "-w", "stop")
        shutil.rmtree(self.base_dir, ignore_errors=True)
        self.base_dir = None

    def admin_credentials(self, dbname: str = "postgres") -> DatabaseCredentials:
        return DatabaseCredentials(
            self.host, self.port, dbname, SUPERUSER, self.superuser_password, self.ca_path
        )

    def connect(self, dbname: str = "postgres") -> psycopg.Connection[tuple[object, ...]]:
        """A superuser connection (autocommit), over TLS like every other."""
        return psycopg.connect(self.admin_credentials(dbname).conninfo(), autocommit=True)

    def create_database(
        self, name: str, password: str | None = None, *, superuser: bool = False
    ) -> DatabaseCredentials:
        """A login role `name` and a database `name` that it owns. With `superuser`, the role
        is a superuser too: a master user that may create and grant roles, as the API's
        migrations do (on PostgreSQL 16 and later, granting membership in a role that another
        database's owner created takes a superuser)."""
        password = password or secrets.token_urlsafe(16)
        attributes = sql.SQL("LOGIN SUPERUSER" if superuser else "LOGIN")
        with self.connect() as conn:
            conn.execute(
                sql.SQL("CREATE ROLE {} {} PASSWORD {}").format(
                    sql.Identifier(name), attributes, sql.Literal(password)
                )
            )
            conn.execute(
                sql.SQL("CREATE DATABASE {} OWNER {}").format(
                    sql.Identifier(name), sql.Identifier(name)
                )
            )
        return DatabaseCredentials(self.host, self.port, name, name, password, self.ca_path)

    def role_password(self, role: str) -> str:
        """The password of the server-wide role `role` for every database of this server: made
        up at the first call, the same afterwards. It does not create or alter the role."""
        return self._role_passwords.setdefault(role, secrets.token_urlsafe(16))

    def set_password(self, role: str, password: str) -> None:
        with self.connect() as conn:
            conn.execute(
                sql.SQL("ALTER ROLE {} PASSWORD {}").format(
                    sql.Identifier(role), sql.Literal(password)
                )
            )

    def terminate_sessions(self, role: str) -> int:
        """Close every session of `role` (as a restart or connection recycling would)."""
        with self.connect() as conn:
            rows = conn.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = %s",
                (role,),
            ).fetchall()
        return len(rows)

    # Set-up steps.
    def _write_certificates(self) -> None:
        self.ca = generate_ca()
        cert_pem, key_pem = issue_server_certificate(self.ca)
        self.ca_path.write_bytes(self.ca.cert_pem)
        (self._base / "server.crt").write_bytes(cert_pem)
        key_path = self._base / "server.key"
        key_path.write_bytes(key_pem)
        key_path.chmod(0o600)  # postgres refuses a key that others can read
        (self._base / "pwfile").write_text(self.superuser_password + "\n")
        (self._base / "sockets").mkdir()
        if self._run_as_postgres:
            account = pwd.getpwnam("postgres")
            for path in [self._base, *self._base.rglob("*")]:
                os.chown(path, account.pw_uid, account.pw_gid)

    def _initdb(self) -> None:
        self._run(
            self._tool("initdb"),
            "-D",
            str(self.data_dir),
            f"--username={SUPERUSER}",
            f"--pwfile={self._base / 'pwfile'}",
            "--auth=scram-sha-256",
            "--encoding=UTF8",
            "--no-locale",
            "--no-sync",
        )
        (self._base / "pwfile").unlink()

    def _configure(self) -> None:
        self.port = free_port()
        settings = {
            "listen_addresses": "127.0.0.1",
            "port": str(self.port),
            "unix_socket_directories": str(self._base / "sockets"),
            "ssl": "on",
            "ssl_cert_file": str(self._base / "server.crt"),
            "ssl_key_file": str(self._base / "server.key"),
            "ssl_min_protocol_version": "TLSv1.2",
            "password_encryption": "scram-sha-256",
            "max_connections": "200",
            # A test server: durability is not needed, speed is.
            "fsync": "off",
            "synchronous_commit": "off",
            "full_page_writes": "off",
        }
        with (self.data_dir / "postgresql.conf").open("a") as conf:
            conf.write("\n# payments test server\n")
            for key, value in settings.items():
                conf.write(f"{key} = '{value}'\n")
        (self.data_dir / "pg_hba.conf").write_text(
            "# TLS only, password (SCRAM) only, loopback only.\n"
            "hostssl all all 127.0.0.1/32 scram-sha-256\n"
        )

    def _start_server(self) -> None:
        try:
            self._run(
                self._tool("pg_ctl"),
                "-D",
                str(self.data_dir),
                "-l",
                str(self.log_path),
                "-w",
                "-t",
                str(START_TIMEOUT_SECONDS),
                "start",
            )
        except subprocess.CalledProcessError as error:
            log = self.log_path.read_text() if self.log_path.exists() else "(no log)"
            raise RuntimeError(f"postgres did not start:\n{log[-2000:]}") from error

    def _tool(self, name: str) -> str:
        return str(self.bin_dir / name)

    def _run(self, *command: str) -> None:
        if self._run_as_postgres:
            command = ("runuser", "-u", "postgres", "--", *command)
        result = subprocess.run(command, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            raise subprocess.CalledProcessError(
                result.returncode, command, result.stdout, result.stderr
            )


def _serve_until_stopped() -> None:
    """Run a server with a migrated `payments` database until Ctrl-C or SIGTERM, then clean
    up."""
    import signal  # noqa: PLC0415

    from payments_local_servers.api import create_app_database  # noqa: PLC0415  (imports this)

    def stop(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    try:
        with PostgresServer() as server:
            app = create_app_database(server, "payments")
            print("PostgreSQL is running, migrated; the API's settings (its login, payments_api):")
            for key, value in app.api.env().items():
                print(f"export {key}={value}")
            print("Ctrl-C stops the server and deletes its files.", flush=True)
            signal.pause()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    _serve_until_stopped()
