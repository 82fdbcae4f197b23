"""Settings of the payments API, read from the environment.

`Settings()` is built by `create_app` (or `serve.main`), never at import, so importing any
module needs no environment and tests can pass their own `Settings`.

Database connection: either `DATABASE_URL` or the `DB_*` keys that ECS injects from the
Secrets Manager secret's JSON. When `DATABASE_URL` is set it wins: `DB_HOST`, `DB_PORT`,
`DB_NAME`, `DB_USER` and `DB_PASSWORD` are then ignored. TLS is `sslmode=verify-full` against
`DB_SSLROOTCERT` (or the URL's own `sslrootcert`); a URL naming any other `sslmode` is refused.
"""

from __future__ import annotations

from typing import Annotated, Literal, get_args, get_origin

import psycopg
from psycopg.conninfo import conninfo_to_dict
from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

RDS_CA_BUNDLE = "/etc/ssl/certs/rds-global-bundle.pem"
# A commit hash (SHA-1 or SHA-256, abbreviated or not), "-dirty" when the build's inputs had
# uncommitted changes. /healthz shows it to anyone: nothing else may pass for one.
GIT_COMMIT_PATTERN = r"^[0-9a-f]{7,64}(-dirty)?$"


class Settings(BaseSettings):
    """Every setting of the API; environment variable names are the field names in uppercase."""

    model_config = SettingsConfigDict(
        case_sensitive=False,
        extra="ignore",
        frozen=True,
        use_attribute_docstrings=True,
        # A settings error must not print the environment it was given: it holds the password.
        hide_input_in_errors=True,
    )

    app_version: str = "0.1.0"
    """Version reported by /healthz. Default: 0.1.0."""
    git_commit: str | None = Field(default=None, pattern=GIT_COMMIT_PATTERN)
    """Git commit reported by /healthz: the last commit that changed the image's inputs, with
    -dirty when they differed from it. The image build sets it (build argument GIT_COMMIT); empty
    is unset. Default: unset (null)."""

    database_url: SecretStr | None = None
    """postgresql:// URL with credentials; wins over the `DB_*` keys. Default: unset."""
    db_host: str | None = None
    """Database host name. Default: unset (required unless DATABASE_URL is set)."""
    db_port: int = Field(default=5432, ge=1, le=65535)
    """Database port. Default: 5432."""
    db_name: str | None = None
    """Database name. Default: unset (required unless DATABASE_URL is set)."""
    db_user: str | None = None
    """Database user. Default: unset (required unless DATABASE_URL is set)."""
    db_password: SecretStr | None = None
    """Database password. Default: unset (required unless DATABASE_URL is set)."""
    db_sslrootcert: str = RDS_CA_BUNDLE
    """CA bundle that verifies the database certificate (the image ships the RDS global bundle).
    Default: /etc/ssl/certs/rds-global-bundle.pem."""
    db_connect_timeout: int = Field(default=5, ge=1)
    """Seconds one connection attempt may take. Default: 5."""
    db_pool_min: int = Field(default=1, ge=0)
    """Connections the pool keeps open. Default: 1."""
    db_pool_max: int = Field(default=10, ge=1)
    """Most connections the pool opens. Default: 10."""
    db_pool_timeout: float = Field(default=5.0, gt=0)
    """Seconds a request waits for a pooled connection before it gets a 503. Default: 5."""
    db_statement_timeout: float = Field(default=5.0, gt=0)
    """Seconds one attempt at a request's database work (its statements) may take; also the
    server's statement_timeout. All of a request's database work, waits and repeats included,
    ends by its deadline, DB_POOL_TIMEOUT + DB_STATEMENT_TIMEOUT + 2 x the larger of
    DB_CONNECT_TIMEOUT and DB_STATEMENT_TIMEOUT after its first wait (20 s with the defaults):
    a request the database does not answer gets 503 by then. Default: 5."""
    db_secret_arn: str | None = None
    """Secrets Manager secret re-read when the password is rejected. Default: unset (no re-read)."""
    db_rebuild_min_interval: float = Field(default=5.0, ge=0)
    """Fewest seconds between two pool rebuilds, each re-read of the secret included. Default: 5."""
    api_key_cache_seconds: float = Field(default=15.0, ge=0)
    """Seconds a task uses its snapshot of the unrevoked API keys before loading it again: a
    new key starts working, and a revoked key stops, within this plus one load. 0 loads them
    for every request (tests). Default: 15."""
    aws_region: str = "us-east-1"
    """Region of the Secrets Manager client. Default: us-east-1."""

    cors_allowed_origins: Annotated[list[str], NoDecode] = []
    """Comma-separated origins allowed by CORS. Default: empty (no CORS headers)."""

    # All interfaces: in awsvpc mode the task's only interface is the one the ALB reaches.
    host: str = "0.0.0.0"
    """Address uvicorn binds. Default: 0.0.0.0."""
    port: int = Field(default=8443, ge=1, le=65535)
    """HTTPS port. Default: 8443."""
    request_head_timeout: float = Field(default=10.0, gt=0, le=60)
    """Seconds a client has to send a request head (request line and headers), from the
    connection's start (after the TLS handshake) or, on a kept-alive connection, from the head's
    first byte; then the connection closes, with 408 if a request was begun. At most 60 (the
    ALB's idle timeout). Default: 10."""
    request_body_timeout: float = Field(default=10.0, gt=0, le=60)
    """Seconds a client has to send a request body, from the end of its head; then 408 and the
    connection closes. At most 60. Default: 10."""
    timeout_keep_alive: int = Field(default=65, ge=1, le=3600)
    """Seconds a connection may stay idle between requests before the API closes it. Longer
    than the ALB's idle timeout (60 s), as AWS advises: the ALB, not the API, ends an idle
    connection, so it never sends a request on one the API is closing (a 502). At most 3600.
    Default: 65."""
    timeout_graceful_shutdown: int = Field(default=25, ge=0)
    """Seconds in-flight requests get after SIGTERM (below the ECS stop timeout). Default: 25."""
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    """Lowest level logged. Above INFO the request lines keep only their metrics. Default: INFO."""

    @property
    def db_request_deadline(self) -> float:
        """Seconds all of a request's database work may take, from its first wait for a
        connection: one wait for the pool and one statement, and room for one connection
        attempt (the diagnosis of an empty pool) and one repeat on a new connection."""
        slowest = max(self.db_connect_timeout, self.db_statement_timeout)
        return self.db_pool_timeout + self.db_statement_timeout + 2 * slowest

    @field_validator("cors_allowed_origins", mode="before")
    @classmethod
    def _split_origins(cls, value: object) -> object:
        if isinstance(value, str):
            return [origin.strip() for origin in value.split(",") if origin.strip()]
        return value

    @field_validator("git_commit", mode="before")
    @classmethod
    def _empty_commit_is_unset(cls, value: object) -> object:
        # The Dockerfile's ENV GIT_COMMIT is empty when the build could not tell.
        return None if value == "" else value

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper_level(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value

    @model_validator(mode="after")
    def _check_database(self) -> Settings:
        problems = []
        if self.database_url is None:
            missing = [
                key.upper()
                for key in ("db_host", "db_name", "db_user", "db_password")
                if getattr(self, key) in (None, "")
            ]
            if missing:
                problems.append(
                    f"set DATABASE_URL, or all of DB_HOST, DB_NAME, DB_USER and DB_PASSWORD; "
                    f"missing: {', '.join(missing)}"
                )
        elif not self.database_url.get_secret_value().startswith(("postgresql://", "postgres://")):
            problems.append("DATABASE_URL must start with postgresql://; got another scheme")
        else:
            problems.extend(_url_tls_problems(self.database_url.get_secret_value()))
        if self.db_pool_min > self.db_pool_max:
            problems.append(
                f"DB_POOL_MIN must be <= DB_POOL_MAX; got {self.db_pool_min} > {self.db_pool_max}"
            )
        if problems:
            raise ValueError("; ".join(problems))
        return self


def _url_tls_problems(url: str) -> list[str]:
    """TLS is verify-full, always: a DATABASE_URL may repeat that, never weaken it."""
    try:
        params = conninfo_to_dict(url)
    except psycopg.ProgrammingError:
        return ["DATABASE_URL is not a valid postgresql:// URL"]  # the text would show secrets
    mode = params.get("sslmode")
    if mode is not None and mode != "verify-full":
        return [
            f"DATABASE_URL must not weaken TLS: only sslmode=verify-full is accepted, got {mode}"
        ]
    return []


def _type_name(annotation: object) -> str:
    names = {
        str: "string",
        int: "integer",
        float: "number",
        SecretStr: "secret string",
        list[str]: "comma-separated list",
    }
    for python_type, name in names.items():
        if annotation == python_type or annotation == python_type | None:
            return name
    if get_origin(annotation) is Literal:
        return " / ".join(str(arg) for arg in get_args(annotation))
    return str(annotation)


def settings_table() -> str:
    """Markdown table of every setting (README), generated so it cannot drift from `Settings`."""
    rows = ["| Variable | Type | Default | Description |", "| --- | --- | --- | --- |"]
    for name, field in Settings.model_fields.items():
        description, _, default = " ".join((field.description or "").split()).partition(
            " Default: "
        )
        rows.append(
            f"| `{name.upper()}` | {_type_name(field.annotation)} | "
            f"{default.rstrip('.')} | {description} |"
        )
    return "\n".join(rows) + "\n"


if __name__ == "__main__":
    print(settings_table(), end="")
