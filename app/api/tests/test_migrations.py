"""The schema's migrations against the real PostgreSQL (payments_api.migrations): from an empty
database and from every earlier version to the head, two migrators at once, a failed
revision rolled back whole, and lock waits that end instead of stalling the API.

Revisions that fail or block are written by the tests into a temporary directory that is
read beside versions/ (`alembic_config(version_locations)`)."""

import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from payments_local_servers.api import AppDatabase
from payments_local_servers.postgres import DatabaseCredentials, PostgresServer

from payments_api import migrate, migrations, store
from payments_api.migrations import (
    MIGRATION_LOCK_ID,
    MigrationError,
    Versions,
    alembic_config,
    current_version,
    revisions,
    upgrade,
)
from scripts.new_migration import new_migration
from tests.utils.databases import create_unmigrated_database
from tests.utils.migrate_cli import TIMEOUT_SECONDS, start_migrate
from tests.utils.waiting import wait_for

HEAD = revisions()[-1]
Conn = psycopg.Connection[tuple[Any, ...]]

# The schema that the API created itself before migrations (store.py's CREATE TABLE IF NOT
# EXISTS), as PostgreSQL describes it: read from pg_dump of a database made by that code.
# 0001_schema must make exactly this.
COLUMNS = [
    ("api_keys", "prefix", "text", True, None),
    ("api_keys", "client_id", "text", True, None),
    ("api_keys", "key_hash", "bytea", True, None),
    ("api_keys", "created_at", "timestamp with time zone", True, "clock_timestamp()"),
    ("api_keys", "revoked_at", "timestamp with time zone", False, None),
    ("payments", "id", "uuid", True, "gen_random_uuid()"),
    ("payments", "client_id", "text", True, None),
    ("payments", "idempotency_key", "text", True, None),
    ("payments", "request_hash", "bytea", True, None),
    ("payments", "amount_minor", "bigint", True, None),
    ("payments", "currency", "character(3)", True, None),
    ("payments", "merchant_reference", "text", True, None),
    ("payments", "status", "text", True, "'created'::text"),
    ("payments", "created_at", "timestamp with time zone", True, "clock_timestamp()"),
]
CLIENT_ID_CHECK = "CHECK ((client_id ~ '^[a-z0-9][a-z0-9-]{0,62}$'::text))"
CONSTRAINTS = [
    ("api_keys", "api_keys_client_id_format", CLIENT_ID_CHECK),
    ("api_keys", "api_keys_key_hash_sha256", "CHECK ((octet_length(key_hash) = 32))"),
    ("api_keys", "api_keys_pkey", "PRIMARY KEY (prefix)"),
    ("payments", "payments_amount_minor_max", "CHECK ((amount_minor <= '10000000000'::bigint))"),
    ("payments", "payments_amount_minor_positive", "CHECK ((amount_minor > 0))"),
    ("payments", "payments_client_id_format", CLIENT_ID_CHECK),
    (
        "payments",
        "payments_client_idempotency_key_key",
        "UNIQUE (client_id, idempotency_key)",
    ),
    ("payments", "payments_currency_format", "CHECK ((currency ~ '^[A-Z]{3}$'::text))"),
    (
        "payments",
        "payments_idempotency_key_length",
        "CHECK (((char_length(idempotency_key) >= 1) AND (char_length(idempotency_key) <= 255)))",
    ),
    (
        "payments",
        "payments_merchant_reference_length",
        "CHECK (((char_length(merchant_reference) >= 1) AND (char_length(merchant_reference) "
        "<= 64)))",
    ),
    ("payments", "payments_pkey", "PRIMARY KEY (id)"),
    ("payments", "payments_status_known", "CHECK ((status = 'created'::text))"),
]
INDEXES = [
    ("api_keys_pkey", "CREATE UNIQUE INDEX api_keys_pkey ON public.api_keys USING btree (prefix)"),
    (
        "payments_client_created_at_id_idx",
        "CREATE INDEX payments_client_created_at_id_idx ON public.payments USING btree "
        "(client_id, created_at DESC, id DESC)",
    ),
    (
        "payments_client_idempotency_key_key",
        "CREATE UNIQUE INDEX payments_client_idempotency_key_key ON public.payments USING btree "
        "(client_id, idempotency_key)",
    ),
    ("payments_pkey", "CREATE UNIQUE INDEX payments_pkey ON public.payments USING btree (id)"),
]
TABLES = "('payments'::regclass, 'api_keys'::regclass, 'alembic_version'::regclass)"
# Everything the migrations make in a database, as the catalogs tell it.
FINGERPRINT = {
    "columns": f"""
        SELECT attrelid::regclass::text, attname, format_type(atttypid, atttypmod), attnotnull,
               pg_get_expr(adbin, adrelid)
        FROM pg_attribute LEFT JOIN pg_attrdef ON adrelid = attrelid AND adnum = attnum
        WHERE attrelid IN {TABLES} AND attnum > 0 AND NOT attisdropped
        ORDER BY attrelid::regclass::text, attnum
    """,
    "constraints": """
        SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint
        WHERE connamespace = 'public'::regnamespace ORDER BY 1, 2
    """,
    "indexes": "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public' ORDER BY 1",
    "tables": """
        SELECT relname, relkind::text, relacl::text FROM pg_class
        WHERE relnamespace = 'public'::regnamespace ORDER BY 1
    """,
    "column grants": f"""
        SELECT attrelid::regclass::text, attname, attacl::text FROM pg_attribute
        WHERE attrelid IN {TABLES} AND attacl IS NOT NULL ORDER BY 1, 2
    """,
    "database grants": "SELECT datacl::text FROM pg_database WHERE datname = current_database()",
    "schema grants": "SELECT nspacl::text FROM pg_namespace WHERE nspname = 'public'",
    "memberships": """
        SELECT r.rolname, m.rolname FROM pg_auth_members
        JOIN pg_roles r ON r.oid = roleid JOIN pg_roles m ON m.oid = member
        WHERE r.rolname LIKE 'payments%' ORDER BY 1, 2
    """,
    "version": "SELECT version_num FROM alembic_version",
}


def fingerprint(database: DatabaseCredentials) -> dict[str, list[tuple[Any, ...]]]:
    """The catalogs' account of the schema, with the master user's name (the owner of the
    database and the tables, different for every test database) replaced by OWNER."""
    with psycopg.connect(database.conninfo()) as conn:
        return {
            name: [
                tuple(
                    value.replace(database.user, "OWNER") if isinstance(value, str) else value
                    for value in row
                )
                for row in conn.execute(query).fetchall()
            ]
            for name, query in FINGERPRINT.items()
        }


def rows(database: DatabaseCredentials, query: str) -> list[tuple[Any, ...]]:
    with psycopg.connect(database.conninfo()) as conn:
        return conn.execute(query).fetchall()


def exists(database: DatabaseCredentials, relation: str) -> bool:
    return rows(database, f"SELECT to_regclass('{relation}') IS NOT NULL") == [(True,)]


@pytest.fixture
def empty_database(postgres: PostgresServer) -> DatabaseCredentials:
    """A new database, not migrated: its master user's credentials."""
    return create_unmigrated_database(postgres, f"payments_{uuid.uuid4().hex[:12]}")


@pytest.fixture
def migrated(empty_database: DatabaseCredentials) -> DatabaseCredentials:
    upgrade(empty_database.conninfo())
    return empty_database


def write_revision(directory: Path, name: str, down: str, *statements: str) -> str:
    """A revision `name` after `down` in `directory`, running `statements`; its id."""
    body = "".join(f"    op.execute({statement!r})\n" for statement in statements)
    (directory / f"{name}.py").write_text(
        "from alembic import op\n\n"
        f"revision = {name!r}\ndown_revision = {down!r}\n"
        "branch_labels = None\ndepends_on = None\n\n\n"
        f"def upgrade() -> None:\n{body}"
    )
    return name


# --- Versions ---------------------------------------------------------------------------------


def test_the_revisions_are_numbered_in_order_and_the_first_is_the_schema() -> None:
    chain = revisions()
    assert chain[:2] == ["0001_schema", "0002_roles"]
    assert [revision[:4] for revision in chain] == [f"{n:04d}" for n in range(1, len(chain) + 1)]


def test_an_empty_database_is_migrated_to_the_head(empty_database: DatabaseCredentials) -> None:
    assert current_version(empty_database.conninfo()) is None
    assert upgrade(empty_database.conninfo()) == Versions(None, HEAD)
    assert rows(empty_database, "SELECT version_num FROM alembic_version") == [(HEAD,)]


def test_0001_makes_exactly_the_schema_the_api_used_to_make(
    empty_database: DatabaseCredentials,
) -> None:
    assert upgrade(empty_database.conninfo(), "0001_schema") == Versions(None, "0001_schema")
    schema = fingerprint(empty_database)
    assert [c for c in schema["columns"] if c[0] != "alembic_version"] == COLUMNS
    assert [c for c in schema["constraints"] if c[0] != "alembic_version"] == CONSTRAINTS
    assert [i for i in schema["indexes"] if i[0] != "alembic_version_pkc"] == INDEXES


def test_the_tables_check_client_ids_with_the_pattern_the_code_checks() -> None:
    assert CLIENT_ID_CHECK == f"CHECK ((client_id ~ '{store.CLIENT_ID_PATTERN}'::text))"


@pytest.mark.parametrize("start", revisions()[:-1])
def test_every_earlier_version_migrates_to_the_same_head(
    postgres: PostgresServer, empty_database: DatabaseCredentials, start: str
) -> None:
    straight = create_unmigrated_database(postgres, f"payments_{uuid.uuid4().hex[:12]}")
    upgrade(straight.conninfo())
    assert upgrade(empty_database.conninfo(), start) == Versions(None, start)
    assert upgrade(empty_database.conninfo()) == Versions(start, HEAD)
    assert fingerprint(empty_database) == fingerprint(straight)


def test_a_second_run_finds_nothing_to_do(migrated: DatabaseCredentials) -> None:
    before = fingerprint(migrated)
    assert upgrade(migrated.conninfo()) == Versions(HEAD, HEAD)
    assert fingerprint(migrated) == before


def test_revisions_run_with_bounded_lock_waits_and_statements(
    migrated: DatabaseCredentials, tmp_path: Path
) -> None:
    probe = write_revision(
        tmp_path,
        "0999_probe",
        HEAD,
        "CREATE TABLE probe AS SELECT current_setting('lock_timeout') AS lock_timeout, "
        "current_setting('statement_timeout') AS statement_timeout",
    )
    upgrade(migrated.conninfo(), config=alembic_config([tmp_path]))
    assert current_version(migrated.conninfo()) == probe
    assert rows(migrated, "SELECT lock_timeout, statement_timeout FROM probe") == [("10s", "1min")]
    assert migrations.LOCK_TIMEOUT_SECONDS == 10
    assert migrations.STATEMENT_TIMEOUT_SECONDS == 60


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


# --- Failures ---------------------------------------------------------------------------------


@pytest.fixture
def broken(tmp_path: Path) -> Iterator[Path]:
    """A directory with a revision after the head that makes a table, then fails."""
    write_revision(
        tmp_path,
        "0999_broken",
        HEAD,
        "CREATE TABLE made_by_the_broken_revision (id int)",
        "ALTER TABLE no_such_table ADD COLUMN x int",
    )
    yield tmp_path


def test_a_failed_revision_leaves_the_version_and_the_schema_as_they_were(
    migrated: DatabaseCredentials, broken: Path
) -> None:
    before = fingerprint(migrated)
    with pytest.raises(MigrationError) as failure:
        upgrade(migrated.conninfo(), config=alembic_config([broken]))
    assert str(failure.value).startswith(
        f"0999_broken failed and the run was rolled back; the database stays at {HEAD}: "
    )
    assert 'relation "no_such_table" does not exist' in str(failure.value)
    assert fingerprint(migrated) == before
    assert not exists(migrated, "made_by_the_broken_revision")


def test_a_failed_revision_rolls_back_every_revision_of_its_run(
    empty_database: DatabaseCredentials, broken: Path
) -> None:
    with pytest.raises(MigrationError, match="the database stays at no version"):
        upgrade(empty_database.conninfo(), config=alembic_config([broken]))
    assert current_version(empty_database.conninfo()) is None
    assert not exists(empty_database, "payments")


def test_the_command_exits_non_zero_naming_the_failed_revision(
    migrated: DatabaseCredentials,
    broken: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    with_broken = alembic_config([broken])
    monkeypatch.setattr(migrations, "alembic_config", lambda *_: with_broken)
    for name in (
        "DATABASE_URL",
        *(f"{p}_DB_{k}" for p in ("APP", "KEYS") for k in ("USER", "PASSWORD")),
    ):
        monkeypatch.delenv(name, raising=False)
    for name, value in migrated.env().items():
        monkeypatch.setenv(name, value)
    assert migrate.main([]) == migrate.EXIT_FAILED
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith("migrate: 0999_broken failed and the run was rolled back")
    assert err.count("\n") == 1
    assert migrated.password not in err
    assert current_version(migrated.conninfo()) == HEAD


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


# --- New revisions ----------------------------------------------------------------------------


def test_a_new_migration_starts_empty_after_the_head_and_runs(
    migrated: DatabaseCredentials, tmp_path: Path
) -> None:
    path = new_migration("add_refunds", tmp_path)
    number = int(HEAD[:4]) + 1
    assert path == tmp_path / f"{number:04d}_add_refunds.py"
    text = path.read_text()
    assert f'revision = "{number:04d}_add_refunds"' in text
    assert f'down_revision: str | None = "{HEAD}"' in text
    assert upgrade(migrated.conninfo(), config=alembic_config([tmp_path])) == Versions(
        HEAD, f"{number:04d}_add_refunds"
    )


@pytest.mark.parametrize("name", ["", "Add", "1st", "add-refunds", "a" * 28])
def test_a_migration_name_must_fit_the_version_table(name: str, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="migration name"):
        new_migration(name, tmp_path)


def test_an_older_image_leaves_a_database_a_newer_one_migrated_as_it_is(
    migrated: DatabaseCredentials,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A rollback: the newer image migrated to a revision the older image does not have. The
    older image's migration step must neither fail the deploy nor touch the database."""
    new_migration("add_refunds", tmp_path)
    newer = upgrade(migrated.conninfo(), config=alembic_config([tmp_path]))
    assert newer.after != HEAD
    before = fingerprint(migrated)

    # The older image: versions/ alone.
    assert upgrade(migrated.conninfo()) == Versions(newer.after, newer.after, newer=True)
    assert current_version(migrated.conninfo()) == newer.after
    assert fingerprint(migrated) == before

    for name in (
        "DATABASE_URL",
        *(f"{p}_DB_{k}" for p in ("APP", "KEYS") for k in ("USER", "PASSWORD")),
    ):
        monkeypatch.delenv(name, raising=False)
    for name, value in migrated.env().items():
        monkeypatch.setenv(name, value)
    assert migrate.main([]) == 0
    assert "is newer than this image knows: left as it is" in capsys.readouterr().out
