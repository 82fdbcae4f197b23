"""The schema's migrations against the real PostgreSQL (payments_api.migrations): from an empty
database and from every earlier version to the head, a failed revision rolled back whole, and
new revisions made by `make migration`. Two migrators at once and lock waits that end instead
of stalling the API: test_migration_locks.py.

Revisions that fail are written by the tests into a temporary directory that is read beside
versions/ (`alembic_config(version_locations)`, tests/utils/revision_files.py)."""

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from payments_local_servers.postgres import DatabaseCredentials, PostgresServer

from payments_api import migrate, migrations, store
from payments_api.migrations import (
    MigrationError,
    Versions,
    alembic_config,
    current_version,
    revisions,
    upgrade,
)
from scripts.new_migration import new_migration
from tests.utils.databases import create_unmigrated_database
from tests.utils.revision_files import write_revision
from tests.utils.schema_catalog import exists, fingerprint, rows

HEAD = revisions()[-1]


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
