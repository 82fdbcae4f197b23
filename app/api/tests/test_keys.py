"""The key CLI, `python -m payments_api.cli.api_keys`, run as an operator runs it: a process with
the API's database settings in its environment."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi.testclient import TestClient
from payments_local_servers.api import API_DIR, AppDatabase
from payments_local_servers.postgres import DatabaseCredentials

from payments_api.auth import KEY_PATTERN
from payments_api.cli.api_keys import ECS_MARKER, SCHEMA_HINT
from payments_api.main import create_app
from tests.utils.keys import bearer, new_api_key
from tests.utils.settings import settings_for


def keys_cli(
    database: AppDatabase | DatabaseCredentials, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """The key CLI with `database`'s settings: the key CLI's login (payments_keys_cli) of an
    AppDatabase, or the credentials given."""
    credentials = database.keys if isinstance(database, AppDatabase) else database
    return subprocess.run(
        [sys.executable, "-m", "payments_api.cli.api_keys", *args],
        cwd=API_DIR,
        # Only these settings: a DATABASE_URL in the caller's environment would win over them.
        env={"PATH": os.environ["PATH"], **credentials.env(), **(env or {})},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_create_prints_only_the_key_and_list_never_shows_it(
    isolated_database: AppDatabase,
) -> None:
    created = keys_cli(isolated_database, "create", "acme")
    assert created.returncode == 0, created.stderr
    key = created.stdout.strip()
    assert KEY_PATTERN.fullmatch(key), created.stdout
    prefix = key[4:16]
    assert "shown only now" in created.stderr and key not in created.stderr
    assert "works on every API task within API_KEY_CACHE_SECONDS (15 s)" in created.stderr

    listed = keys_cli(isolated_database, "list")
    assert listed.returncode == 0, listed.stderr
    assert re.search(
        rf"^{prefix}\s+acme\s+\d{{4}}-\d\d-\d\d \d\d:\d\d:\d\d\s+-$", listed.stdout, re.M
    )
    assert key[17:] not in listed.stdout + listed.stderr


def test_a_created_key_works_and_a_revoked_one_does_not(
    isolated_database: AppDatabase,
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


def test_revoking_an_unknown_prefix_fails_clearly(isolated_database: AppDatabase) -> None:
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


def test_run_as_the_apis_login_it_may_not_create_a_key_and_says_whose_it_must_be(
    isolated_database: AppDatabase,
) -> None:
    result = keys_cli(isolated_database.api, "create", "acme")
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.startswith("database error: permission denied for table api_keys")
    assert result.stderr.strip().endswith(SCHEMA_HINT)
    assert "a login of payments_keys" in SCHEMA_HINT
    assert keys_cli(isolated_database, "list").stdout.count("acme") == 0


def test_an_unreachable_database_is_one_line_without_the_password() -> None:
    nowhere = DatabaseCredentials("127.0.0.2", 1, "d", "u", "s3cret-pass", API_DIR / "x.pem")
    result = keys_cli(nowhere, "list")
    assert result.returncode == 2
    assert result.stderr.startswith("database error: ")
    assert len(result.stderr.strip().splitlines()) == 1
    assert "s3cret-pass" not in result.stderr


@pytest.fixture
def operator_key(tmp_path: Path) -> tuple[Path, str]:
    """An operator's RSA key pair: the private key's file, and the public key's PEM."""
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private_path = tmp_path / "operator.pem"
    private_path.write_bytes(
        private.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    public = private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return private_path, public.decode()


def test_an_encrypted_key_is_read_with_the_documented_openssl_command(
    isolated_database: AppDatabase, operator_key: tuple[Path, str]
) -> None:
    private_path, public_pem = operator_key
    # As an ECS one-off task runs it: the public key inline in the command, ECS's marker set.
    created = keys_cli(
        isolated_database,
        "create",
        "acme",
        "--encrypt-to",
        public_pem,
        env={ECS_MARKER: "http://169.254.170.2/v4/task"},
    )
    assert created.returncode == 0, created.stderr
    printed = created.stdout.strip()
    assert not KEY_PATTERN.search(printed)
    # The command docs/deploy.md gives the operator (openssl, not this code).
    decrypted = subprocess.run(
        f"base64 -d | openssl pkeyutl -decrypt -inkey {private_path} "
        "-pkeyopt rsa_padding_mode:oaep -pkeyopt rsa_oaep_md:sha256",
        shell=True,
        input=printed,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert KEY_PATTERN.fullmatch(decrypted), "not a key"
    settings = settings_for(isolated_database, api_key_cache_seconds=0)
    with TestClient(create_app(settings), headers=bearer(decrypted)) as client:
        assert client.get("/api/payments").status_code == 200


def test_in_an_ecs_task_a_plain_key_is_refused(isolated_database: AppDatabase) -> None:
    result = keys_cli(
        isolated_database, "create", "acme", env={ECS_MARKER: "http://169.254.170.2/v4/task"}
    )
    assert result.returncode == 2
    assert "pass --encrypt-to" in result.stderr
    assert keys_cli(isolated_database, "list").stdout.count("acme") == 0  # nothing was made


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("-----BEGIN PUBLIC KEY-----\nnot a key\n-----END PUBLIC KEY-----", "not a PEM public key"),
        ("/nonexistent/operator.pub", "No such file"),
    ],
)
def test_a_bad_recipient_key_is_refused(value: str, message: str) -> None:
    nowhere = DatabaseCredentials("127.0.0.2", 1, "d", "u", "p", API_DIR / "missing.pem")
    result = keys_cli(nowhere, "create", "acme", "--encrypt-to", value)
    assert result.returncode == 2
    assert message in result.stderr


def test_a_short_rsa_key_is_refused() -> None:
    weak = rsa.generate_private_key(public_exponent=65537, key_size=1024).public_key()
    pem = weak.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()
    nowhere = DatabaseCredentials("127.0.0.2", 1, "d", "u", "p", API_DIR / "missing.pem")
    result = keys_cli(nowhere, "create", "acme", "--encrypt-to", pem)
    assert (result.returncode, "at least 2048 bits" in result.stderr) == (2, True)


def shows_any_of(secret: str, text: str) -> bool:
    """Whether `text` holds any 8 characters in a row of `secret`."""
    return any(secret[i : i + 8] in text for i in range(len(secret) - 7))


def test_revoke_given_the_whole_key_revokes_it_and_never_prints_its_secret(
    isolated_database: AppDatabase,
) -> None:
    # What an on-call engineer holding a leaked key pastes. Before: refused, and the refusal
    # printed the whole key on stderr (CloudWatch Logs, when run as a task).
    key = new_api_key(isolated_database, "acme")
    prefix, secret = key[4:16], key[17:]
    result = keys_cli(isolated_database, "revoke", key)
    assert result.returncode == 0, result.stderr
    assert not shows_any_of(secret, result.stdout + result.stderr)
    assert result.stderr.startswith(f"revoked key pay_{prefix}_… of client acme;")
    listed = keys_cli(isolated_database, "list").stdout
    assert re.search(rf"^{prefix}\s+acme\s+\S+ \S+\s+\d{{4}}-", listed, re.M), listed


A_KEY = "pay_0123456789ab_" + "Zq3" * 14 + "x"  # the shape of a key, in no database


@pytest.mark.parametrize(
    "args",
    [
        pytest.param(("revoke", A_KEY), id="revoke an unknown key"),  # exit 1
        pytest.param(("revoke", A_KEY[:40]), id="revoke a key cut short"),
        pytest.param(("revoke", A_KEY + "x"), id="revoke a key too long"),
        pytest.param(("revoke", A_KEY[4:]), id="revoke a key without pay_"),
        pytest.param(("revoke", A_KEY[17:]), id="revoke the secret alone"),
        pytest.param(("revoke", "0123456789ab", A_KEY), id="revoke a prefix and a key"),
        pytest.param(("create", A_KEY), id="create for a key"),
        pytest.param(("create", "acme", "--encrypt-to", A_KEY), id="create encrypted to a key"),
        pytest.param(("list", A_KEY), id="list a key"),
        pytest.param((A_KEY,), id="a key for the command"),
    ],
)
def test_no_command_prints_a_secret_it_was_given(
    isolated_database: AppDatabase, args: tuple[str, ...]
) -> None:
    result = keys_cli(isolated_database, *args)
    assert result.returncode != 0
    assert not shows_any_of(A_KEY[17:], result.stdout + result.stderr), result.stderr
