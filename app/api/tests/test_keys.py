"""The key CLI, `python -m payments_api.keys`, run as an operator runs it: a process with
the API's database settings in its environment."""

import os
import re
import subprocess
import sys

import pytest
from fastapi.testclient import TestClient
from payments_local_servers.api import API_DIR
from payments_local_servers.postgres import DatabaseCredentials

from payments_api.auth import KEY_PATTERN
from payments_api.main import create_app
from tests.utils.keys import bearer
from tests.utils.settings import settings_for


def keys_cli(database: DatabaseCredentials, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "payments_api.keys", *args],
        cwd=API_DIR,
        env={**os.environ, **database.env(), "API_KEY_CACHE_SECONDS": "0"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_create_prints_only_the_key_and_list_never_shows_it(
    isolated_database: DatabaseCredentials,
) -> None:
    created = keys_cli(isolated_database, "create", "acme")
    assert created.returncode == 0, created.stderr
    key = created.stdout.strip()
    assert KEY_PATTERN.fullmatch(key), created.stdout
    prefix = key[4:16]
    assert "shown only now" in created.stderr and key not in created.stderr

    listed = keys_cli(isolated_database, "list")
    assert listed.returncode == 0, listed.stderr
    assert re.search(
        rf"^{prefix}\s+acme\s+\d{{4}}-\d\d-\d\d \d\d:\d\d:\d\d\s+-$", listed.stdout, re.M
    )
    assert key[17:] not in listed.stdout + listed.stderr


def test_a_created_key_works_and_a_revoked_one_does_not(
    isolated_database: DatabaseCredentials,
) -> None:
    key = keys_cli(isolated_database, "create", "acme").stdout.strip()
    settings = settings_for(isolated_database, api_key_cache_seconds=0)
    with TestClient(create_app(settings), headers=bearer(key)) as client:
        assert client.get("/api/payments").status_code == 200
        revoked = keys_cli(isolated_database, "revoke", key[4:16])
        assert revoked.returncode == 0, revoked.stderr
        assert client.get("/api/payments").status_code == 401
    listed = keys_cli(isolated_database, "list").stdout
    assert re.search(rf"^{key[4:16]}\s+acme\s+\S+ \S+\s+\d{{4}}-", listed, re.M), listed


def test_revoking_an_unknown_prefix_fails_clearly(isolated_database: DatabaseCredentials) -> None:
    result = keys_cli(isolated_database, "revoke", "0123456789ab")
    assert (result.returncode, result.stderr.strip()) == (1, "no key with prefix 0123456789ab")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("create", "Acme Corp"), "client id 'Acme Corp': use 1-63 of a-z 0-9 and -"),
        (("revoke", "pay_xyz"), "prefix 'pay_xyz': expected the 12 hex digits `list` shows"),
    ],
)
def test_bad_arguments_are_refused_before_touching_the_database(
    args: tuple[str, ...], message: str
) -> None:
    nowhere = DatabaseCredentials("127.0.0.2", 1, "d", "u", "p", API_DIR / "missing.pem")
    result = keys_cli(nowhere, *args)
    assert result.returncode == 2
    assert message in result.stderr


def test_an_unreachable_database_is_one_line_without_the_password() -> None:
    nowhere = DatabaseCredentials("127.0.0.2", 1, "d", "u", "s3cret-pass", API_DIR / "x.pem")
    result = keys_cli(nowhere, "list")
    assert result.returncode == 2
    assert result.stderr.startswith("database error: ")
    assert len(result.stderr.strip().splitlines()) == 1
    assert "s3cret-pass" not in result.stderr
