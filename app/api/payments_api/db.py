"""The API's database access: a psycopg connection pool over TLS, readiness, and recovery
(re-reading rotated credentials from Secrets Manager, rebuilding the pool).

How a connection is configured, and what its errors say: payments_api.db_connection (also
used by the migrations and the key CLI). Where rotated credentials come from:
payments_api.db_credentials.

`DatabasePool` owns one `psycopg_pool.ConnectionPool` (sslmode verify-full by default, every
connection checked before it is handed out). It never blocks start-up on the database: the
pool connects in the background, and until it has a connection requests and /readyz get
`DatabaseUnavailableError` with the reason.

The API runs no DDL: it logs in as a role that may only read and insert (payments_api.roles),
and the schema is made beforehand, once per deploy, by `python -m payments_api.migrate`.
Readiness checks that the API's tables are there and readable; a table that is missing or
may not be read (the migrations have not run, or the API logs in as another role) is a
`DatabaseUnavailableError` that says so, not a server error.

Recovery: when the pool has no connection within DB_POOL_TIMEOUT, one direct connection
attempt tells why. If the password was rejected (SQLSTATE 28P01/28000), the credentials
(username and password only; host, port and database stay as configured) are re-read from
the secret DB_SECRET_ARN, the pool is rebuilt with them, and the request is retried once, so
a rotated password does not take running tasks down. If the database answers but the pool is
still in its reconnect backoff, the pool is rebuilt too. Rebuilds (and so re-reads) are
serialised and happen at most once every DB_REBUILD_MIN_INTERVAL seconds.

Bounds: every database wait ends, and by the request's deadline. A request's database work
(`run`, a wait for the API keys' load and the route's work) ends by one deadline,
`Settings.db_request_deadline` after its first wait (DB_POOL_TIMEOUT + DB_STATEMENT_TIMEOUT + 2
x max(DB_CONNECT_TIMEOUT, DB_STATEMENT_TIMEOUT)), and each wait gets its own bound or the time
left, whichever is less: the wait for a pooled connection DB_POOL_TIMEOUT; the direct attempt
that tells why the pool has none DB_CONNECT_TIMEOUT; each attempt at the work
DB_STATEMENT_TIMEOUT, enforced on the server (statement_timeout) and by the client
(`db_connection.ConnectionDeadline` shuts the socket down, which a server that accepts TCP but
does not answer, such as a stopped process, cannot defeat). A connection that turns out dead is
discarded and the work repeated on the next one, within the same deadline: no idle connection is
tested on the request's time (a frozen one would hold it). TCP keepalives find a dead peer of an
idle connection.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from typing import Any, TypeVar

import psycopg
from psycopg.conninfo import make_conninfo
from psycopg_pool import AsyncConnectionPool, PoolClosed, PoolTimeout

from payments_api.db_connection import (
    ConnectionDeadline,
    DatabaseUnavailableError,
    connection_params,
    describe_error,
    is_auth_failure,
)
from payments_api.db_credentials import CredentialSource, SecretsManagerCredentials
from payments_api.metrics import RequestTiming, request_timing
from payments_api.roles import APP_GROUP
from payments_api.settings import Settings
from payments_api.store import Conn

logger = logging.getLogger(__name__)

# Retry-After of every 503 that says the database cannot be used (payment routes, /readyz).
RETRY_AFTER_SECONDS = "1"
# Added to the reason when a table is missing or may not be read: the deploy did not migrate
# the database, or the API logs in as a role outside payments_app (payments_api.roles).
RUN_THE_MIGRATIONS = (
    "run the migrations (python -m payments_api.migrate), and log the API in as a login of "
    f"{APP_GROUP}"
)
# Readiness, in one round trip: the tables the API uses exist and its role may read them.
# LIMIT 0: planned (names and rights checked), never executed against a row.
READY_STATEMENT = "SELECT 1 FROM payments, api_keys LIMIT 0"

T = TypeVar("T")


@dataclass(frozen=True)
class _Diagnosis:
    at: float
    generation: int
    reason: str | None
    auth_failed: bool


class DatabasePool:
    """The API's connection pool. Use `run()`; call `start()` (or `open()`) once and `close()`
    once, inside the event loop that serves the requests."""

    def __init__(self, settings: Settings, credentials: CredentialSource | None = None) -> None:
        self._settings = settings
        self._params = connection_params(settings)
        if credentials is None and settings.db_secret_arn:
            credentials = SecretsManagerCredentials(settings.db_secret_arn, settings.aws_region)
        self._credentials = credentials
        self._rebuild_lock = asyncio.Lock()
        self._diagnose_lock = asyncio.Lock()
        self._generation = 0
        self._lent = 0  # connections of the current pool that are checked out
        self._last_rebuild = float("-inf")
        self._diagnosis: _Diagnosis | None = None
        self._background: set[asyncio.Task[None]] = set()
        self._pool = self._new_pool()

    def __repr__(self) -> str:  # never show the password
        return f"DatabasePool(host={self._params.get('host')!r}, generation={self._generation})"

    def _new_pool(self) -> AsyncConnectionPool[Conn]:
        # No check on checkout: it would cost a round trip per request. A connection that the
        # server closed while it sat in the pool (restart, failover, idle timeout) fails its
        # first statement instead, and `run` repeats the work on the next connection.
        return AsyncConnectionPool(
            make_conninfo("", **self._params),
            kwargs={"autocommit": True},
            min_size=self._settings.db_pool_min,
            max_size=self._settings.db_pool_max,
            timeout=self._settings.db_pool_timeout,
            name=f"payments-{self._generation}",
            open=False,
        )

    async def open(self) -> None:
        """Start the pool without waiting for the database."""
        await self._pool.open(wait=False)

    async def close(self) -> None:
        for task in list(self._background):
            task.cancel()
        await self._pool.close()

    async def start(self) -> None:
        """Open the pool and check readiness in the background: start-up (and so liveness)
        never waits for the database, however long a connection attempt hangs."""
        await self.open()
        self._in_background(self._first_check())

    def _in_background(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self._background.add(task)  # the loop keeps only a weak reference
        task.add_done_callback(self._background.discard)

    async def _first_check(self) -> None:
        try:
            await self.check_ready()
        except DatabaseUnavailableError as error:
            logger.warning(
                "database not available at start; will retry on demand",
                extra={"reason": error.reason},
            )

    async def check_ready(self) -> None:
        """One round trip (READY_STATEMENT), raising DatabaseUnavailableError with the reason."""
        await self.run(_check_tables)

    async def run(self, work: Callable[[Conn], Awaitable[T]]) -> T:
        """`work` on a pooled connection in autocommit mode (each statement commits), each
        attempt within DB_STATEMENT_TIMEOUT, all of it by the request's deadline.

        If the connection turns out dead (it fails fast: the server closed it), it is
        discarded and `work` runs again on the next connection, while the deadline allows and
        at most DB_POOL_MAX times more: every operation of the API is safe to repeat (a
        payment is keyed by its idempotency key, so a repeat finds the first insert instead of
        a second one). Raises DatabaseUnavailableError when no connection can be had, the
        deadline passes, or a table is missing or may not be read (the migrations have not
        run).

        The deadline is the running request's (`metrics.RequestTiming.database_deadline`, set
        by its first `run` or `deadline`: a wait for the keys and the route's work share it), or
        this call's own outside a request. The time spent waiting for a connection and working on
        it (every attempt) is added to the request's metrics, PoolWait and DatabaseLatency.
        """
        timing = request_timing()  # the request's PoolWait and DatabaseLatency (metrics.py)
        deadline = self.deadline(timing)
        attempt = 0
        while True:
            attempt += 1
            waiting_since = time.perf_counter()
            try:
                pool, conn = await self._acquire(deadline)
            finally:
                working_since = time.perf_counter()
                if timing is not None:
                    timing.add_pool_wait(working_since - waiting_since)
            try:
                seconds = min(self._settings.db_statement_timeout, self._left(deadline))
                with ConnectionDeadline(conn, seconds):
                    return await work(conn)
            except (psycopg.errors.UndefinedTable, psycopg.errors.InsufficientPrivilege) as error:
                raise DatabaseUnavailableError(
                    f"{describe_error(error)}: {RUN_THE_MIGRATIONS}"
                ) from error
            except psycopg.OperationalError as error:
                if not conn.broken or attempt > self._settings.db_pool_max:
                    raise
                # Its idle siblings may have been closed with it (a restart, a failover,
                # sessions terminated), or sit on a frozen server: none is tested here. The
                # broken one goes back (the pool discards it and opens another) and the work
                # moves on to the next, within what is left of the deadline.
                logger.info(
                    "pooled connection was closed; repeating on a new one",
                    extra={"reason": describe_error(error)},
                )
            finally:
                if timing is not None:
                    timing.add_database(time.perf_counter() - working_since)
                if pool is self._pool:
                    self._lent -= 1
                await pool.putconn(conn)

    def deadline(self, timing: RequestTiming | None) -> float:
        """When (time.monotonic()) the request's database work must end; its first call sets it."""
        if timing is None:
            return time.monotonic() + self._settings.db_request_deadline
        if timing.database_deadline is None:
            timing.database_deadline = time.monotonic() + self._settings.db_request_deadline
        return timing.database_deadline

    def _left(self, deadline: float) -> float:
        """Seconds left before `deadline`; DatabaseUnavailableError once it has passed."""
        left = deadline - time.monotonic()
        if left <= 0:
            raise DatabaseUnavailableError(
                f"the database did not serve the request within its deadline of "
                f"{self._settings.db_request_deadline:g} s"
            )
        return left

    async def _acquire(self, deadline: float) -> tuple[AsyncConnectionPool[Conn], Conn]:
        retried = False
        while True:
            pool, generation = self._pool, self._generation
            waiting_since = time.monotonic()
            try:
                conn = await pool.getconn(
                    timeout=min(self._settings.db_pool_timeout, self._left(deadline))
                )
            except PoolClosed as error:
                # A rebuild swapped the pool while this request waited: retry on the new one.
                if retried:
                    raise DatabaseUnavailableError("the connection pool is closed") from error
            except PoolTimeout as error:
                left = self._left(deadline)
                try:
                    async with asyncio.timeout(left):
                        diagnosis = await self._diagnose(waiting_since)
                        recovered = not retried and await self._recover(generation, diagnosis)
                except TimeoutError as timeout:
                    raise DatabaseUnavailableError(
                        f"no database connection within the request's deadline of "
                        f"{self._settings.db_request_deadline:g} s"
                    ) from timeout
                if not recovered:
                    raise DatabaseUnavailableError(self._reason(diagnosis)) from error
            else:
                if pool is self._pool:
                    self._lent += 1
                return pool, conn
            retried = True

    def _reason(self, diagnosis: _Diagnosis) -> str:
        if diagnosis.reason is not None:
            return diagnosis.reason
        timeout = f"{self._settings.db_pool_timeout:g} s"
        if self._lent >= self._settings.db_pool_max:
            return (
                f"no database connection became free within {timeout}: all "
                f"{self._settings.db_pool_max} pooled connections are in use"
            )
        return f"the database answers, but the pool had no connection within {timeout}"

    async def _diagnose(self, waiting_since: float) -> _Diagnosis:
        """Why the pool has no connection: one direct attempt. Requests that waited together
        share it (a stampede makes one attempt), but none gets an answer older than its wait."""
        async with self._diagnose_lock:
            now = time.monotonic()
            generation = self._generation
            params = dict(self._params)
            cached = self._diagnosis
            if cached and cached.generation == generation and cached.at >= waiting_since:
                return cached
            try:
                conn = await psycopg.AsyncConnection.connect(make_conninfo("", **params))
                await conn.close()
                diagnosis = _Diagnosis(now, generation, None, auth_failed=False)
            except psycopg.Error as error:
                diagnosis = _Diagnosis(
                    now,
                    generation,
                    describe_error(error, (params.get("password", ""),)),
                    auth_failed=is_auth_failure(error),
                )
            self._diagnosis = diagnosis
            return diagnosis

    async def _recover(self, seen_generation: int, diagnosis: _Diagnosis) -> bool:
        """Rebuild the pool if that can help; True if the caller should retry once.

        Two cases help: the password was rejected (re-read it from the secret first), or the
        database answers a direct connection while the pool, with connections to spare, has
        none: it is waiting out its exponential reconnect backoff (up to minutes after a long
        outage), and a new pool connects at once.
        """
        async with self._rebuild_lock:
            if self._generation != seen_generation:
                return True  # another request rebuilt the pool while this one waited
            now = time.monotonic()
            if now - self._last_rebuild < self._settings.db_rebuild_min_interval:
                return False
            credentials: dict[str, str] = {}
            if diagnosis.auth_failed:
                if self._credentials is None:
                    return False
                self._last_rebuild = now  # also rate-limits the calls to Secrets Manager
                fetched = await self._fetch_credentials()
                if fetched is None:
                    return False
                credentials = fetched
            elif diagnosis.reason is not None or self._lent >= self._settings.db_pool_max:
                return False
            self._last_rebuild = now
            # Shielded: a request whose deadline passes meanwhile must not leave half a rebuild.
            await asyncio.shield(self._rebuild(credentials))
            return True

    async def _fetch_credentials(self) -> dict[str, str] | None:
        """New credentials from the secret, or None if unreadable or unchanged."""
        assert self._credentials is not None
        try:
            # boto3 blocks: off the event loop (this runs at most once per rebuild interval).
            credentials = await asyncio.to_thread(self._credentials.fetch)
        except Exception as error:  # any AWS or parsing failure leaves the old pool in place
            logger.warning(
                "could not re-read the database credentials",
                extra={"error": type(error).__name__},
            )
            return None
        if all(self._params.get(key) == value for key, value in credentials.items()):
            logger.warning("the database rejected the credentials, and the secret still has them")
            return None
        logger.info("database credentials re-read from Secrets Manager")
        return credentials

    async def _rebuild(self, credentials: dict[str, str]) -> None:
        old_pool = self._pool
        self._params.update(credentials)
        self._generation += 1
        self._lent = 0
        self._pool = self._new_pool()
        await self._pool.open(wait=False)
        logger.info("database pool rebuilt", extra={"generation": self._generation})
        # Connections lent from the old pool are closed when they come back.
        self._in_background(old_pool.close())


async def _check_tables(conn: Conn) -> None:
    await conn.execute(READY_STATEMENT)
