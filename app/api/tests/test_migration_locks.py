"""The schema's migrations and locks, against the real PostgreSQL: two migrators at once both
succeed with the schema made once, a migrator waits for another only so long, and a revision
that cannot get its table's lock fails within lock_timeout instead of stalling the API.

The revision that blocks is written by the test into a temporary directory that is read beside
versions/ (`alembic_config(version_locations)`, tests/utils/revision_files.py)."""

import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg
from payments_local_servers.api import AppDatabase
from payments_local_servers.postgres import DatabaseCredentials, PostgresServer

from payments_api.migrations import (
    MIGRATION_LOCK_ID,
    MigrationError,
    alembic_config,
    current_version,
    revisions,
    upgrade,
)
from tests.utils.migrate_cli import TIMEOUT_SECONDS, start_migrate
from tests.utils.revision_files import write_revision
from tests.utils.schema_catalog import rows
from tests.utils.waiting import wait_for

HEAD = revisions()[-1]
Conn = psycopg.Connection[tuple[Any, ...]]


# --- Two migrators ----------------------------------------------------------------------------


def advisory_waiters(conn: Conn) -> int:
    """Sessions of this database waiting for an advisory lock."""
    row = conn.execute(
        """
        SELECT count(*) FROM pg_locks
        WHERE locktype = 'advisory' AND NOT granted
          AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
        """
    ).fetchone()
    assert row is not None
    return int(row[0])


def test_two_migrators_at_once_both_succeed_and_the_schema_is_made_once(
    empty_database: DatabaseCredentials,
) -> None:
    """Two migration tasks (processes: Alembic's context is one per process) at once."""
    with psycopg.connect(empty_database.conninfo(), autocommit=True) as holder:
        # Both start while the lock is held, so both are surely running at once.
        holder.execute("SELECT pg_advisory_lock(%s)", (MIGRATION_LOCK_ID,))
        tasks = [start_migrate(empty_database.env()) for _ in range(2)]
        try:

            def both_wait() -> bool:
                assert all(task.poll() is None for task in tasks), "a migrator ended early"
                return advisory_waiters(holder) == 2

            wait_for(both_wait, "both migrators wait for the lock")
            holder.execute("SELECT pg_advisory_unlock(%s)", (MIGRATION_LOCK_ID,))
            outputs = [task.communicate(timeout=TIMEOUT_SECONDS) for task in tasks]
        finally:
            for task in tasks:
                task.kill()
                task.wait()
    assert [task.returncode for task in tasks] == [0, 0], outputs
    assert sorted(out for out, _ in outputs) == [
        f"schema version before: {HEAD}\nschema version after: {HEAD}\n",
        f"schema version before: none (an empty database)\nschema version after: {HEAD}\n",
    ]
    assert rows(empty_database, "SELECT version_num FROM alembic_version") == [(HEAD,)]


def run_in_thread(work: Callable[[], object]) -> tuple[threading.Thread, dict[str, Any]]:
    outcome: dict[str, Any] = {}

    def target() -> None:
        try:
            outcome["result"] = work()
        except BaseException as error:
            outcome["error"] = error
        outcome["ended"] = time.monotonic()

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    return thread, outcome


def test_a_migrator_waits_for_another_one_only_so_long(migrated: DatabaseCredentials) -> None:
    with psycopg.connect(migrated.conninfo(), autocommit=True) as holder:
        holder.execute("SELECT pg_advisory_lock(%s)", (MIGRATION_LOCK_ID,))
        thread, outcome = run_in_thread(lambda: upgrade(migrated.conninfo(), wait=0.5))
        thread.join(timeout=30)
        assert not thread.is_alive(), "the migrator still waits for the lock"
    error = outcome.get("error")
    assert isinstance(error, MigrationError), outcome
    assert "waiting for another migrator" in str(error)
    assert "lock timeout" in str(error)


# --- Lock waits -------------------------------------------------------------------------------


def waiting_for_payments(conn: Conn) -> bool:
    """A session waits for a lock on the payments table."""
    row = conn.execute(
        "SELECT count(*) FROM pg_locks WHERE relation = 'payments'::regclass AND NOT granted"
    ).fetchone()
    return row is not None and row[0] > 0


def test_a_revision_that_cannot_get_its_lock_fails_within_lock_timeout(
    postgres: PostgresServer, tmp_path: Path, isolated_database: AppDatabase
) -> None:
    """The API reads payments in a transaction; a revision that needs the table's ACCESS
    EXCLUSIVE lock waits lock_timeout for it, then the run fails and rolls back, instead of
    waiting (with every later request for the table queued behind it) until the API lets go."""
    master = isolated_database.master
    write_revision(tmp_path, "0999_add_column", HEAD, "ALTER TABLE payments ADD COLUMN probe int")
    lock_timeout = 1.0
    with (
        psycopg.connect(isolated_database.api.conninfo()) as reader,
        postgres.connect(master.dbname) as watcher,
    ):
        reader.execute("SELECT count(*) FROM payments")  # holds ACCESS SHARE until it ends
        thread, outcome = run_in_thread(
            lambda: upgrade(
                master.conninfo(), lock_timeout=lock_timeout, config=alembic_config([tmp_path])
            )
        )
        wait_for(lambda: waiting_for_payments(watcher), "the migration waits for payments")
        seen_waiting = time.monotonic()
        thread.join(timeout=30)  # bounds a failure only: a migration that hangs
        assert not thread.is_alive(), "the migration still waits for the lock"
        reader.rollback()
    error = outcome.get("error")
    assert isinstance(error, MigrationError), outcome
    assert "0999_add_column failed" in str(error)
    assert "canceling statement due to lock timeout" in str(error)
    assert outcome["ended"] - seen_waiting < lock_timeout + 5
    assert current_version(master.conninfo()) == HEAD
    columns = rows(master, "SELECT attname FROM pg_attribute WHERE attrelid = 'payments'::regclass")
    assert ("probe",) not in columns
