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

Verified keys are cached in the task for API_KEY_CACHE_SECONDS (prefix, client and hash, never
the key), so a request costs no extra database round trip; a revocation therefore takes
effect within that many seconds on every task. Unknown prefixes are not cached (a guess costs
one indexed lookup; the WAF's rate limit bounds guessing).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from fastapi import Depends, HTTPException, Request, Response, status
from fastapi.security import HTTPBearer

from payments_api import store
from payments_api.db import DatabasePool
from payments_api.request_guards import StrictJsonRoute

KEY_PATTERN = re.compile(r"pay_(?P<prefix>[0-9a-f]{12})_[A-Za-z0-9_-]{43}")
"""The whole key: `pay_`, the 12-hex-digit prefix, `_`, 43 urlsafe base64 characters."""
UNAUTHORIZED_DETAIL = "a valid API key is required"
CHALLENGE = 'Bearer realm="payments"'
# A bound on the cache, far above the keys one deployment has; past it the cache starts over.
MAX_CACHED_KEYS = 10_000


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
class _Verified:
    client_id: str
    key_hash: bytes
    revoked: bool
    fetched_at: float


class ApiKeyVerifier:
    """Checks a presented key against the stored hash, caching rows for `cache_seconds`."""

    def __init__(self, cache_seconds: float) -> None:
        self._cache_seconds = cache_seconds
        self._cache: dict[str, _Verified] = {}

    async def client_for(self, pool: DatabasePool, presented: str) -> str | None:
        """The client id the key belongs to, or None (malformed, unknown, wrong, revoked)."""
        prefix = key_prefix(presented)
        if prefix is None:
            return None
        entry = self._cache.get(prefix)
        now = time.monotonic()
        if entry is None or now - entry.fetched_at >= self._cache_seconds:
            stored = await pool.run(lambda conn: store.find_api_key(conn, prefix))
            if stored is None:
                self._cache.pop(prefix, None)
                return None
            entry = _Verified(
                stored.client_id, bytes(stored.key_hash), stored.revoked_at is not None, now
            )
            if len(self._cache) >= MAX_CACHED_KEYS:
                self._cache.clear()
            self._cache[prefix] = entry
        if entry.revoked or not hmac.compare_digest(entry.key_hash, key_hash(presented)):
            return None
        return entry.client_id


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
            request.state.client_id, request.state.key_prefix = await _verified_client(request)
            return await handler(request)

        return authenticated_handler


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
