"""Manage API keys: `python -m payments_api.cli.api_keys create CLIENT | list | revoke PREFIX`.

Reads the database settings as the API does (DATABASE_URL or the DB_* keys, TLS verify-full),
as a login of the payments_keys group (payments_keys_cli or payments_keys_cli_clone, from the
keys role's secret: payments_api.roles), which may read and insert keys and set revoked_at,
and nothing else. It runs no DDL: the tables come from `python -m payments_api.migrate`.
Then:

- `create CLIENT [--encrypt-to PEM]`: makes a key for the client (1-63 of a-z 0-9 -) and
  prints it on stdout, alone on one line, once: only its prefix and SHA-256 are kept, so it
  cannot be shown again. With `--encrypt-to`, what is printed is the key encrypted to that RSA
  public key (RSA-OAEP with SHA-256, base64), for the operator alone to decrypt:

      base64 -d | openssl pkeyutl -decrypt -inkey operator.pem \
          -pkeyopt rsa_padding_mode:oaep -pkeyopt rsa_oaep_md:sha256

  Inside an ECS task the plain form is refused: a task's stdout goes to CloudWatch Logs, where
  the key would stay readable for the log group's retention.
  The key works on every API task within API_KEY_CACHE_SECONDS plus one load of the keys (each
  task checks keys against a snapshot it reloads that often): hand it over after that.
- `list`: one line per key: prefix, client, created, revoked (never a key or a hash).
- `revoke PREFIX`: the key stops working within API_KEY_CACHE_SECONDS (plus one load) on every
  task; the row stays, for the audit trail. Exit status 1 if there is no such key. PREFIX may
  be the whole key (what an engineer holding a leaked one has): it is revoked by its prefix,
  and named `pay_<prefix>_…`.

Nothing that may be a secret it was given is printed: errors quote key-shaped values with the
part after the prefix withheld (stderr is CloudWatch Logs when this runs as a task).

In AWS, run it as a one-off ECS task with the keys role's secret in DB_USER and DB_PASSWORD:
see docs/deploy.md.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import os
import re
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import NoReturn

import psycopg
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from psycopg.conninfo import make_conninfo

from payments_api import store
from payments_api.auth import KEY_PATTERN, key_hash, key_prefix, new_key
from payments_api.db_connection import connection_params, describe_error
from payments_api.roles import KEYS_GROUP
from payments_api.settings import Settings

CLIENT_ID = re.compile(store.CLIENT_ID_PATTERN)
# Set by ECS in every task (Fargate platform 1.4.0): where stdout is a log stream.
ECS_MARKER = "ECS_CONTAINER_METADATA_URI_V4"
MIN_RSA_BITS = 2048
PREFIX = re.compile(r"[0-9a-f]{12}")
# What error messages withhold: a secret after its prefix (whole or cut short), or alone.
KEY_TAIL = re.compile(r"([0-9a-f]{12}_)[A-Za-z0-9_-]+")
LONG_RUN = re.compile(r"[A-Za-z0-9_-]{32,}")
# Added to the reason when a table is missing or may not be used.
SCHEMA_HINT = (
    f"run the migrations (python -m payments_api.migrate), and run this as a login of {KEYS_GROUP}"
)


def _client_id(value: str) -> str:
    if not CLIENT_ID.match(value):
        raise argparse.ArgumentTypeError(
            f"client id {value!r}: use 1-63 of a-z 0-9 and -, starting with a letter or digit"
        )
    return value


def withheld(text: str) -> str:
    """`text` without what may be a key's secret: whatever follows a 12-hex-digit prefix and
    `_`, and any run of 32 or more urlsafe base64 characters (a secret given alone)."""
    return LONG_RUN.sub("[withheld]", KEY_TAIL.sub(r"\1…", text))


def _prefix(value: str) -> str:
    """The prefix to revoke: given alone (as `list` shows it, with or without `pay_`) or as
    the prefix of a whole key (what an engineer holding a leaked key has at hand)."""
    value = value.strip()
    whole = KEY_PATTERN.fullmatch(value)
    if whole:
        return whole["prefix"]
    prefix = value.removeprefix("pay_")
    if not PREFIX.fullmatch(prefix):
        raise argparse.ArgumentTypeError(
            f"prefix {withheld(value)!r}: expected the 12 hex digits `list` shows, or the whole key"
        )
    return prefix


class _Parser(argparse.ArgumentParser):
    """Its errors quote what they were given (a choice, an argument too many, a value of the
    wrong form) without anything that may be a key's secret: stderr is CloudWatch Logs when
    this runs as a task. Its subcommands' parsers are of this class too."""

    def error(self, message: str) -> NoReturn:
        super().error(withheld(message))


async def create_key(conn: store.Conn, client_id: str) -> str:
    """Store a new key for `client_id` (its prefix and hash) and return the key itself."""
    while True:
        prefix, key = new_key()
        try:
            await store.insert_api_key(
                conn, prefix=prefix, client_id=client_id, key_hash=key_hash(key)
            )
        except psycopg.errors.UniqueViolation:
            continue  # the 48-bit prefix is taken: draw another
        return key


def _utc(moment: datetime) -> str:
    return f"{moment.astimezone(UTC):%Y-%m-%d %H:%M:%S}"


def _recipient(value: str) -> rsa.RSAPublicKey:
    """An RSA public key (PEM), given inline or as a file path."""
    text = value if "-----BEGIN" in value else _read(value)
    try:
        key = serialization.load_pem_public_key(text.encode())
    except ValueError:
        raise argparse.ArgumentTypeError(
            "--encrypt-to: not a PEM public key (expected -----BEGIN PUBLIC KEY-----)"
        ) from None
    if not isinstance(key, rsa.RSAPublicKey) or key.key_size < MIN_RSA_BITS:
        raise argparse.ArgumentTypeError(
            f"--encrypt-to: expected an RSA public key of at least {MIN_RSA_BITS} bits"
        )
    return key


def _read(path: str) -> str:
    try:
        with open(path, encoding="ascii") as file:
            return file.read()
    except (OSError, UnicodeDecodeError) as error:
        raise argparse.ArgumentTypeError(f"--encrypt-to {path!r}: {error}") from None


def encrypt_for(recipient: rsa.RSAPublicKey, key: str) -> str:
    """The key encrypted with RSA-OAEP (SHA-256), base64: what `openssl pkeyutl -decrypt`
    with `rsa_padding_mode:oaep` and `rsa_oaep_md:sha256` reads."""
    oaep = padding.OAEP(
        mgf=padding.MGF1(algorithm=hashes.SHA256()), algorithm=hashes.SHA256(), label=None
    )
    return base64.b64encode(recipient.encrypt(key.encode(), oaep)).decode()


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="python -m payments_api.cli.api_keys", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    create = commands.add_parser("create", help="make a key for a client; prints it once")
    create.add_argument("client_id", type=_client_id)
    create.add_argument(
        "--encrypt-to",
        type=_recipient,
        metavar="PEM",
        help="print the key encrypted to this RSA public key (PEM text or a file)",
    )
    commands.add_parser("list", help="every key: prefix, client, created, revoked")
    revoke = commands.add_parser(
        "revoke", help="revoke a key by its prefix (or its whole key: the secret is not shown)"
    )
    revoke.add_argument("prefix", type=_prefix, help="12 hex digits, pay_<prefix>, or the key")
    return parser


async def _run(args: argparse.Namespace, settings: Settings) -> int:
    conninfo = make_conninfo("", **connection_params(settings))
    async with await psycopg.AsyncConnection.connect(conninfo, autocommit=True) as conn:
        if args.command == "create":
            key = await create_key(conn, args.client_id)
            prefix = key_prefix(key)
            print(encrypt_for(args.encrypt_to, key) if args.encrypt_to else key)
            print(
                f"created key {prefix} for client {args.client_id}; it is shown only now "
                "(only its prefix and SHA-256 are stored); it works on every API task within "
                f"API_KEY_CACHE_SECONDS ({settings.api_key_cache_seconds:g} s) plus one load "
                "of the keys",
                file=sys.stderr,
            )
            return 0
        if args.command == "list":
            print(f"{'PREFIX':<12}  {'CLIENT':<24}  {'CREATED (UTC)':<20}  REVOKED (UTC)")
            for stored in await store.list_api_keys(conn):
                revoked = _utc(stored.revoked_at) if stored.revoked_at else "-"
                print(
                    f"{stored.prefix:<12}  {stored.client_id:<24}  "
                    f"{_utc(stored.created_at):<20}  {revoked}"
                )
            return 0
        revoked_key = await store.revoke_api_key(conn, args.prefix)
        if revoked_key is None:
            print(f"no key with prefix {args.prefix}", file=sys.stderr)
            return 1
        print(
            f"revoked key pay_{revoked_key.prefix}_… of client {revoked_key.client_id}; it "
            "stops working on every API task within API_KEY_CACHE_SECONDS "
            f"({settings.api_key_cache_seconds:g} s) plus one load of the keys",
            file=sys.stderr,
        )
        return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command == "create" and args.encrypt_to is None and os.environ.get(ECS_MARKER):
        parser.error(
            "create: this runs in an ECS task, whose output is kept in CloudWatch Logs; pass "
            "--encrypt-to with your RSA public key so only you can read the new key"
        )
    settings = Settings()
    try:
        return asyncio.run(_run(args, settings))
    except (psycopg.errors.UndefinedTable, psycopg.errors.InsufficientPrivilege) as error:
        print(f"database error: {describe_error(error)}: {SCHEMA_HINT}", file=sys.stderr)
        return 2
    except psycopg.Error as error:
        print(f"database error: {describe_error(error)}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
