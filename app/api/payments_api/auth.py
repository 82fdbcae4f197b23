"""Per-client API keys: their format, their hash, and the dependency that authenticates a
request (`caller_of`, the calling client's id).

A key looks like `pay_<prefix>_<secret>`: `prefix` is 12 hex digits, not secret, and finds
the key's row; `secret` is 32 random bytes (urlsafe base64). The database keeps the prefix and
the SHA-256 of the whole key, never the key: a plain hash suffices for 256 random bits (no
guessing to slow down, unlike a password), and it costs microseconds per request.

Every /api/payments route is an `AuthenticatedRoute` and reads its client with `caller_of`: no
`Authorization: Bearer <key>`, a key of the wrong form, an unknown prefix, a wrong secret or a
revoked key are all the same 401 with `WWW-Authenticate: Bearer`, before the body is read, and
the body says nothing about which. Health routes stay open.

Keys are checked against a snapshot, in the task, of every unrevoked key (prefix -> client id
and SHA-256; never a key), loaded whole and reloaded once older than API_KEY_CACHE_SECONDS.
Why a whole snapshot rather than a cache of the keys seen: with a cache, an unknown prefix cost
a database look-up on every request, so it answered measurably slower than a known one (0.51
against 0.29 ms), any guess cost a query (load that whoever guesses controls), and during an
outage an unknown prefix got 503 where a known one with a wrong secret got 401: three ways to
tell a real prefix from a guess. Now every well-formed key costs the same, a dict look-up and
one hmac.compare_digest (an unknown prefix against a fixed hash that no key has), and no
request queries the database for its key (bench/key_check_bench.py measures both kinds).

- Reloads are single-flight: requests that find the snapshot stale share one load, the
  database work of the request that started it (under its deadline, db.py's, and in its
  PoolWait and DatabaseLatency; those that join it wait uncounted, but for their Latency);
  each waits no longer than its own request's database deadline, which its route's work
  then shares.
- A failed reload keeps the last snapshot (a revocation needs the database, which is down),
  and for RELOAD_BACKOFF_SECONDS requests use it at once, without trying again: no retry
  storm, and during an outage a request waits on a reload only when it is the one (with those
  that join it) that tries again, never longer than its key's look-up could before. With no
  snapshot ever loaded there is nothing to fall back on: requests wait for a load (one at a
  time, shared) and get 503 if it fails, as before; no back-off then, so the first requests
  after the database is back are served.
- So a new key starts working, and a revoked one stops, within API_KEY_CACHE_SECONDS plus
  one load on every task (0 reloads for every request: for tests). The first load is the
  first authenticated request's.
- Bound: sized for MAX_KEYS (10,000) unrevoked keys, about 2.5 MiB per task; past it every key
  is still loaded and checked (a revocation must not be lost to a limit), and each load logs a
  warning. Revoked keys are not loaded.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import logging
import re
import secrets
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

import psycopg
from fastapi import Depends, HTTPException, Request, Response, status
from fastapi.security import HTTPBearer

from payments_api import store
from payments_api.db import DatabasePool
from payments_api.db_connection import DatabaseUnavailableError, unavailable_reason
from payments_api.metrics import request_timing
from payments_api.request_guards import StrictJsonRoute

logger = logging.getLogger(__name__)

KEY_PATTERN = re.compile(r"pay_(?P<prefix>[0-9a-f]{12})_[A-Za-z0-9_-]{43}")
"""The whole key: `pay_`, the 12-hex-digit prefix, `_`, 43 urlsafe base64 characters."""
UNAUTHORIZED_DETAIL = "a valid API key is required"
CHALLENGE = 'Bearer realm="payments"'
# The unrevoked keys the snapshot is sized for (about 260 bytes each; a deployment has tens).
MAX_KEYS = 10_000
# After a failed load, requests use the last snapshot this long before one tries again.
RELOAD_BACKOFF_SECONDS = 1.0
# What an unknown prefix's key is compared with: the SHA-256 of no key (nothing hashes to it).
_NO_SUCH_KEY = ("", hashlib.sha256(b"payments-api: no key has this prefix").digest())


def new_key() -> tuple[str, str]:
    """A new (prefix, key)."""
    prefix = secrets.token_hex(6)
    return prefix, f"pay_{prefix}_{secrets.token_urlsafe(32)}"


def key_hash(key: str) -> bytes:
    return hashlib.sha256(key.encode()).digest()


def key_prefix(presented: str) -> str | None:
    """The prefix of a well-formed key, else None."""
    match = KEY_PATTERN.fullmatch(presented)
    return match["prefix"] if match else None


@dataclass(frozen=True, slots=True)
class _Snapshot:
    keys: dict[str, tuple[str, bytes]]  # prefix -> (client id, SHA-256 of the key)
    loaded_at: float  # the verifier's clock when the load began


class ApiKeyVerifier:
    """Checks a presented key against a snapshot of every unrevoked key, reloaded when older
    than `cache_seconds` (the module docstring says how, and why)."""

    def __init__(self, cache_seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self._cache_seconds = cache_seconds
        self._clock = clock
        self._snapshot: _Snapshot | None = None
        self._loading: asyncio.Task[None] | None = None
        self._retry_at = float("-inf")  # after a failed load, none before this
        self._failure = "the API keys are not loaded yet"

    async def client_for(self, pool: DatabasePool, presented: str) -> str | None:
        """The client id the key belongs to, or None (malformed, unknown, wrong, revoked).
        Known prefix or not, the same work: a dict look-up and one constant-time compare."""
        prefix = key_prefix(presented)
        if prefix is None:
            return None
        keys = await self._keys(pool)
        client_id, stored_hash = keys.get(prefix, _NO_SUCH_KEY)
        return client_id if hmac.compare_digest(stored_hash, key_hash(presented)) else None

    def _start_load(self, pool: DatabasePool) -> None:
        """Begin a load, unless one is under way."""
        if self._loading is None:
            # In the context of the request that starts it: the load is that request's
            # database work, under its deadline and in its metrics (PoolWait, DatabaseLatency),
            # as its key's look-up was. Requests that join it wait for it, uncounted.
            self._loading = asyncio.get_running_loop().create_task(self._load(pool))

    async def close(self) -> None:
        """Cancel a load under way (at shutdown, before the pool closes)."""
        loading, self._loading = self._loading, None
        if loading is not None:
            loading.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await loading

    async def _keys(self, pool: DatabasePool) -> dict[str, tuple[str, bytes]]:
        snapshot, now = self._snapshot, self._clock()
        if snapshot is not None and (
            now - snapshot.loaded_at < self._cache_seconds or now < self._retry_at
        ):
            return snapshot.keys  # fresh, or stale while a failed load backs off
        self._start_load(pool)  # or join the load under way: one for every waiting request
        assert self._loading is not None
        # Bounded by the request's database deadline, which the route's work then shares.
        left = pool.deadline(request_timing()) - time.monotonic()
        try:
            async with asyncio.timeout(max(left, 0)):
                await asyncio.shield(self._loading)
        except TimeoutError:
            self._failure = "the API keys did not load within the request's deadline"
        if self._snapshot is None:
            raise DatabaseUnavailableError(self._failure)
        return self._snapshot.keys

    async def _load(self, pool: DatabasePool) -> None:
        began = self._clock()
        try:
            rows = await pool.run(store.unrevoked_api_keys)
        except (DatabaseUnavailableError, psycopg.OperationalError) as error:
            self._failure = unavailable_reason(error)
            self._retry_at = self._clock() + RELOAD_BACKOFF_SECONDS
            logger.warning(
                "could not load the API keys; "
                + ("still using the last ones loaded" if self._snapshot else "answering 503"),
                extra={"reason": self._failure},
            )
        else:
            if len(rows) > MAX_KEYS:
                logger.warning(
                    f"{len(rows)} unrevoked API keys, past the {MAX_KEYS} this check is sized "
                    "for: all are loaded and checked, at more memory and load time per task"
                )
            keys = {prefix: (client_id, digest) for prefix, client_id, digest in rows}
            self._snapshot = _Snapshot(keys, began)
        finally:
            self._loading = None


# Declares the scheme in the OpenAPI document (`bearerAuth`); AuthenticatedRoute does the
# checking, and gives the same 401 for every failure.
_bearer = HTTPBearer(
    auto_error=False,
    scheme_name="bearerAuth",
    description=(
        "A per-client API key, `pay_<prefix>_<secret>` (python -m payments_api.cli.api_keys)."
    ),
)


def _unauthorized() -> HTTPException:
    return HTTPException(
        status_code=status.HTTP_401_UNAUTHORIZED,
        detail=UNAUTHORIZED_DETAIL,
        headers={"WWW-Authenticate": CHALLENGE},
    )


async def _verified_client(request: Request) -> tuple[str, str]:
    """The client of the request's bearer key and the key's prefix, or 401."""
    scheme, _, presented = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer":
        raise _unauthorized()
    presented = presented.strip()
    verifier: ApiKeyVerifier = request.app.state.key_verifier
    client_id = await verifier.client_for(request.state.pool, presented)
    prefix = key_prefix(presented)
    if client_id is None or prefix is None:
        raise _unauthorized()
    return client_id, prefix


class AuthenticatedRoute(StrictJsonRoute):
    """A route that authenticates its caller first: before FastAPI reads or parses the body
    (which it does before any dependency runs), so a caller without a valid key gets the 401
    and learns nothing about the body rules, malformed JSON included. The client id and the
    key's prefix (not secret: it names the key, as `keys list` and `keys revoke` do) go into
    `request.state`, and the request's log line names both, so what one key did can be found
    after it leaked; the handler reads the client with `caller_of`."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def authenticated_handler(request: Request) -> Response:
            await authenticate(request)
            return await handler(request)

        return authenticated_handler


async def authenticate(request: Request) -> None:
    """Put the client of the request's bearer key and the key's prefix into `request.state`,
    or raise the 401."""
    request.state.client_id, request.state.key_prefix = await _verified_client(request)


def caller_of(request: Request) -> str:
    """The client AuthenticatedRoute verified for this request. A plain call, not a FastAPI
    dependency: each dependency costs about 20 us per request (measured), and the hot path
    had three for this and the pool. Outside an AuthenticatedRoute it fails loudly."""
    client_id: str | None = getattr(request.state, "client_id", None)
    if client_id is None:
        raise RuntimeError(f"{request.url.path}: needs route_class=AuthenticatedRoute")
    return client_id


# For APIRouter(dependencies=...): puts the bearer scheme on every route of the router in the
# OpenAPI document (checking is AuthenticatedRoute's).
BEARER_SCHEME = Depends(_bearer)
