"""Settings: precedence, TLS defaults, errors, and the README table."""

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from payments_api.db_connection import connection_params
from payments_api.settings import Settings, settings_table

API_DIR = Path(__file__).resolve().parents[1]

DB_KEYS = {
    "db_host": "db.internal",
    "db_name": "payments",
    "db_user": "app",
    "db_password": "db-keys-password",
}


def make(**values: Any) -> Settings:
    base: dict[str, Any] = {"database_url": None, **{key: None for key in DB_KEYS}}
    base.update(values)
    return Settings.model_validate(base)


def test_database_url_wins_over_the_db_keys() -> None:
    settings = make(database_url="postgresql://u:p@url-host:6543/urldb", **DB_KEYS)
    params = connection_params(settings)
    assert (params["host"], params["port"], params["dbname"], params["user"]) == (
        "url-host",
        "6543",
        "urldb",
        "u",
    )


def test_tls_defaults_to_verify_full_against_db_sslrootcert() -> None:
    params = connection_params(make(db_sslrootcert="/ca.pem", **DB_KEYS))
    assert (params["sslmode"], params["sslrootcert"]) == ("verify-full", "/ca.pem")


def test_verify_full_written_in_database_url_is_kept() -> None:
    settings = make(database_url="postgresql://u:p@h/db?sslmode=verify-full&sslrootcert=/x.pem")
    params = connection_params(settings)
    assert (params["sslmode"], params["sslrootcert"]) == ("verify-full", "/x.pem")


def test_missing_database_settings_are_named_in_one_error() -> None:
    with pytest.raises(ValidationError, match="missing: DB_HOST, DB_NAME, DB_USER, DB_PASSWORD"):
        make()


def test_keep_alive_outlasts_the_albs_idle_timeout_by_default() -> None:
    assert make(**DB_KEYS).timeout_keep_alive == 65  # the ALB's: 60 (payments_infra)


@pytest.mark.parametrize("value", [0, -1, 3601, 1.5])
def test_keep_alive_is_whole_seconds_from_1_to_3600(value: float) -> None:
    with pytest.raises(ValidationError, match="timeout_keep_alive"):
        make(timeout_keep_alive=value, **DB_KEYS)


def test_pool_minimum_above_maximum_is_rejected() -> None:
    with pytest.raises(ValidationError, match="DB_POOL_MIN must be <= DB_POOL_MAX; got 5 > 2"):
        make(db_pool_min=5, db_pool_max=2, **DB_KEYS)


def test_settings_error_does_not_show_the_password() -> None:
    with pytest.raises(ValidationError) as caught:
        make(db_pool_min=5, db_pool_max=2, **DB_KEYS)
    assert DB_KEYS["db_password"] not in str(caught.value)


def test_settings_are_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DB_HOST", "env-host")
    monkeypatch.setenv("DB_POOL_MAX", "7")
    settings = Settings.model_validate({k: v for k, v in DB_KEYS.items() if k != "db_host"})
    assert (settings.db_host, settings.db_pool_max) == ("env-host", 7)


def test_cors_origins_are_read_comma_separated(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CORS_ALLOWED_ORIGINS", "https://a.example, https://b.example")
    settings = Settings.model_validate(DB_KEYS)
    assert settings.cors_allowed_origins == ["https://a.example", "https://b.example"]


COMMIT = "0123456789abcdef0123456789abcdef01234567"


@pytest.mark.parametrize(
    ("environment", "commit"),
    [
        ({}, None),
        ({"GIT_COMMIT": ""}, None),  # the image's ENV when its build could not tell
        ({"GIT_COMMIT": COMMIT}, COMMIT),
        ({"GIT_COMMIT": f"{COMMIT}-dirty"}, f"{COMMIT}-dirty"),
    ],
)
def test_git_commit_is_read_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, environment: dict[str, str], commit: str | None
) -> None:
    monkeypatch.delenv("GIT_COMMIT", raising=False)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    assert Settings.model_validate(DB_KEYS).git_commit == commit


@pytest.mark.parametrize(
    "value", ["main", f"{COMMIT}-modified", COMMIT.upper(), "<script>", f"{COMMIT}\n"]
)
def test_anything_but_a_commit_is_refused_as_git_commit(
    monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    # /healthz shows it to anyone: a value that is not a commit never gets that far.
    monkeypatch.setenv("GIT_COMMIT", value)
    with pytest.raises(ValidationError, match="git_commit"):
        Settings.model_validate(DB_KEYS)


def test_importing_the_api_needs_no_environment() -> None:
    result = subprocess.run(
        [sys.executable, "-c", "import payments_api.main, payments_api.serve"],
        cwd=API_DIR,
        env={"PATH": os.environ.get("PATH", "/usr/bin:/bin")},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr


def test_readme_lists_every_setting() -> None:
    readme = (API_DIR / "README.md").read_text()
    assert settings_table() in readme, (
        "README.md settings table is stale: paste `python -m payments_api.settings`"
    )


def test_every_setting_documents_its_default() -> None:
    undocumented = [
        name
        for name, field in Settings.model_fields.items()
        if " Default: " not in " ".join((field.description or "").split())
    ]
    assert not undocumented, f"settings without a 'Default:' line: {undocumented}"
