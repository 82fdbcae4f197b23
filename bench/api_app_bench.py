"""CPU per POST /api/payments of the API application alone, in process.

    .venv/bin/python bench/api_app_bench.py [--requests 20000] > /dev/null

The whole ASGI app (middlewares, FastAPI routing and validation, authentication, the
handler, the JSON response and the request's log line), called in a loop on uvloop, with a
stub in place of the database pool and of the key check's lookup: no HTTP parsing, no TLS, no
PostgreSQL. Much steadier than the end-to-end benchmark (bench/api_bench.py), so it shows
what a change to the application's own code costs. The log lines go to stdout (send them to
/dev/null); the figures go to stderr.
"""

from __future__ import annotations

import argparse
import datetime
import resource
import sys
import uuid
from collections.abc import Awaitable, Callable, MutableMapping
from pathlib import Path
from typing import Any

import uvloop

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "app" / "api"))

from payments_api import store
from payments_api.main import create_app
from payments_api.request_log import configure_logging
from payments_api.settings import Settings

BODY = b'{"amount_minor": 1234, "currency": "USD", "merchant_reference": "bench"}'
KEY = b"pay_0123456789ab_" + b"a" * 43
PAYMENT = store.Payment(
    uuid.uuid4(), 1234, "USD", "bench", "created", datetime.datetime.now(datetime.UTC)
)


_HEX_AS_LETTERS = bytes.maketrans(b"0123456789abcdef", b"abcdefghijklmnop")


def _letters(number: int) -> bytes:
    """`number` as 16 letters a-p (hex digits as letters): an Idempotency-Key with no digits,
    which the card-number scan never refuses (hex keys can look like card numbers)."""
    return f"{number:016x}".encode().translate(_HEX_AS_LETTERS)


class StubPool:
    """Answers every database call at once, as if each POST created a payment."""

    async def run(self, work: Callable[[Any], Awaitable[Any]]) -> store.CreateResult:
        return store.CreateResult(store.Outcome.CREATED, PAYMENT)


async def _client_for(pool: object, presented: str) -> str:
    return "bench"


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def run(requests: int, rounds: int) -> list[float]:
    configure_logging("INFO")
    settings = Settings.model_validate(
        {"database_url": "postgresql://u:p@db.invalid/d", "db_sslrootcert": "/nonexistent"}
    )
    app = create_app(settings)
    app.state.key_verifier.client_for = _client_for
    pool = StubPool()
    headers = [
        (b"host", b"api"),
        (b"authorization", b"Bearer " + KEY),
        (b"content-type", b"application/json"),
        (b"content-length", str(len(BODY)).encode()),
    ]

    async def post(number: int) -> int:
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "POST",
            "scheme": "https",
            "path": "/api/payments",
            "raw_path": b"/api/payments",
            "query_string": b"",
            "root_path": "",
            "headers": [*headers, (b"idempotency-key", b"bench-" + _letters(number))],
            "client": ("127.0.0.1", 1),
            "server": ("127.0.0.1", 8443),
            "state": {"pool": pool},
        }
        sent: list[MutableMapping[str, Any]] = []

        async def receive() -> MutableMapping[str, Any]:
            return {"type": "http.request", "body": BODY, "more_body": False}

        async def send(message: MutableMapping[str, Any]) -> None:
            sent.append(message)

        await app(scope, receive, send)
        status: int = sent[0]["status"]
        return status

    if (status := await post(0)) != 201:
        raise RuntimeError(f"POST answered {status}, not 201")
    results = []
    for _ in range(rounds):
        started = _cpu()
        for number in range(requests):
            await post(number)
        results.append((_cpu() - started) / requests * 1e6)
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    results = uvloop.run(run(args.requests, args.rounds))
    figures = ", ".join(f"{us:.0f}" for us in results)
    print(
        f"app alone, {args.requests} POSTs x {args.rounds} rounds: {figures} us CPU per request",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
