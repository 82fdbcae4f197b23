"""The schema's versioned migrations, and the one way to run them: `upgrade`.

`python -m payments_api.migrate` (the one-off task of a deploy) calls `upgrade`; the API and
the key CLI never run DDL. This directory is Alembic's script directory: env.py (one
transaction, one advisory lock, bounded lock waits: read it) and versions/, one file per
revision, SQL run with `op.execute`, forward only, ids `NNNN_name`. It sits inside the package
because the image copies payments_api/ and no other source (Dockerfile, .dockerignore), and the
image's content hash covers it (payments_infra/components/api/image.py), so a new revision ships
with the code that needs it. How to add one: app/api/README.md, "Migrations".

No alembic.ini and no `alembic` command: `alembic_config` builds the configuration here, so
nothing depends on the directory a command runs in.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import psycopg
from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy import Connection, NullPool, create_engine
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

MIGRATIONS_DIR = Path(__file__).resolve().parent
VERSIONS_DIR = MIGRATIONS_DIR / "versions"

# Any fixed number: serialises migrators of one database (pg_advisory_xact_lock in env.py).
MIGRATION_LOCK_ID = 4_725_301_001
# How long a statement may wait for a table's lock before the run gives up (SQLSTATE 55P03),
# rather than queue every API request for that table behind it: env.py says why.
LOCK_TIMEOUT_SECONDS = 10.0
# How long one statement of a revision may run; a revision that needs longer sets its own.
STATEMENT_TIMEOUT_SECONDS = 60.0
# How long a migrator waits for another one (two deploys, a retried task) to finish.
MIGRATOR_WAIT_SECONDS = 300.0


# Alembic's `context` (what env.py reads) is one per process: one run at a time in a process.
# Migrators in several processes (tasks) are what the advisory lock of env.py serialises.
_ONE_RUN_PER_PROCESS = threading.Lock()


class MigrationError(Exception):
    """The run failed and was rolled back: the database keeps the version it had. The message
    names the stage or the revision that failed, and the server's reason (never a password)."""


@dataclass
class MigrationRun:
    """What `upgrade` hands to env.py (config.attributes["run"]), and what env.py reports back."""

    connection: Connection
    lock_timeout: float
    statement_timeout: float
    wait: float
    locked: bool = False  # the advisory lock was taken: the versions below are this run's
    before: str | None = None
    after: str | None = None
    newer: bool = False  # the database is at a revision this code does not know (a rollback)
    applied: list[str] = field(default_factory=list)


class Versions(NamedTuple):
    before: str | None  # None: an empty database
    after: str | None
    newer: bool = False  # left alone: a newer image's revision, unknown to this one


def alembic_config(version_locations: Sequence[Path] = ()) -> Config:
    """Alembic's configuration, in memory. `version_locations` adds directories of revisions
    to versions/ (tests add a failing or a blocking one)."""
    config = Config()
    config.set_main_option("script_location", _option(MIGRATIONS_DIR))
    config.set_main_option("path_separator", "os")
    config.set_main_option(
        "version_locations",
        os.pathsep.join(_option(path) for path in (VERSIONS_DIR, *version_locations)),
    )
    # New revisions (scripts/new_migration.py): NNNN_name.py, id NNNN_name.
    config.set_main_option("file_template", "%%(rev)s")
    return config


def _option(path: Path) -> str:
    return str(path).replace("%", "%%")  # ConfigParser interpolates %


def revisions(config: Config | None = None) -> list[str]:
    """Every revision id, oldest first."""
    script = ScriptDirectory.from_config(config or alembic_config())
    return [revision.revision for revision in reversed(list(script.walk_revisions()))]


def upgrade(
    conninfo: str,
    target: str = "head",
    *,
    lock_timeout: float = LOCK_TIMEOUT_SECONDS,
    statement_timeout: float = STATEMENT_TIMEOUT_SECONDS,
    wait: float = MIGRATOR_WAIT_SECONDS,
    config: Config | None = None,
) -> Versions:
    """Run the revisions up to `target` in one transaction, connected with `conninfo` (the
    master user: the database's owner, who may create roles). Raises MigrationError."""
    config = config or alembic_config()
    engine = create_engine(
        "postgresql+psycopg://", creator=lambda: psycopg.connect(conninfo), poolclass=NullPool
    )
    run: MigrationRun | None = None
    try:
        with _ONE_RUN_PER_PROCESS, engine.connect() as connection:
            run = MigrationRun(connection, lock_timeout, statement_timeout, wait)
            config.attributes["run"] = run
            command.upgrade(config, target)
    except (SQLAlchemyError, psycopg.Error, CommandError) as error:
        raise MigrationError(_failure(run, config, error)) from error
    finally:
        config.attributes.pop("run", None)
        engine.dispose()
    return Versions(run.before, run.after, run.newer)


def _failure(run: MigrationRun | None, config: Config, error: BaseException) -> str:
    reason = describe(error)
    if run is None:
        return f"could not connect: {reason}"
    if not run.locked:
        return f"could not start (connecting, or waiting for another migrator): {reason}"
    done = run.applied[-1] if run.applied else run.before
    chain = revisions(config)
    position = chain.index(done) + 1 if done in chain else 0
    failed = chain[position] if position < len(chain) else "the run"
    return (
        f"{failed} failed and the run was rolled back; the database stays at "
        f"{run.before or 'no version (empty)'}: {reason}"
    )


def describe(error: BaseException) -> str:
    """One line: the driver's message (without SQLAlchemy's statement and links)."""
    cause: Any = error.orig if isinstance(error, DBAPIError) else error
    return " ".join(str(cause).split()) or type(cause).__name__


def current_version(conninfo: str) -> str | None:
    """The database's version (None: no migration has run)."""
    with psycopg.connect(conninfo) as conn:
        exists = conn.execute("SELECT to_regclass('alembic_version') IS NOT NULL").fetchone()
        if not exists or not exists[0]:
            return None
        row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
        return str(row[0]) if row else None
