"""Alembic's environment: how `payments_api.migrate` runs the pending revisions.

Only `payments_api.migrations.upgrade` starts it (it hands over an open connection and the
limits in `config.attributes["run"]`): there is no alembic.ini and no offline (--sql) mode.

Everything pending runs in ONE transaction (PostgreSQL's DDL is transactional): a revision
that fails rolls the whole run back, alembic_version included, so the database stays at the
version it had, never half way between two.

Two migrators at once (two deploys, a retried task) are serialised by a transaction-level
advisory lock taken before the version is read: the second waits for the first to commit,
then finds nothing pending. Advisory locks belong to one database, as the schema does.

Lock waits are bounded. ALTER TABLE and friends take an ACCESS EXCLUSIVE lock; while one
waits for it (behind a long query, or an open transaction of the API), PostgreSQL queues
every later request for that table behind the waiting migration, and the whole API would
stall with it. lock_timeout makes the migration give up instead (SQLSTATE 55P03, the run
rolls back, the task fails and is run again later); statement_timeout bounds each statement.
A revision that must run longer (a backfill, CREATE INDEX on a large table) sets its own
`SET LOCAL statement_timeout` first, and says why.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

from alembic import context
from alembic.runtime.migration import MigrationContext, MigrationInfo
from sqlalchemy import Connection, text

from payments_api.migrations import MIGRATION_LOCK_ID, MigrationRun


def _set_local(connection: Connection, name: str, seconds: float) -> None:
    """SET LOCAL name = seconds (set_config's third argument true: until the transaction ends)."""
    connection.execute(
        text("SELECT set_config(:name, :value, true)"),
        {"name": name, "value": f"{round(seconds * 1000)}ms"},
    )


def run_migrations() -> None:
    run = context.config.attributes.get("run")
    if context.is_offline_mode() or not isinstance(run, MigrationRun):
        raise RuntimeError(
            "run the migrations with `python -m payments_api.migrate` (payments_api.migrate): "
            "it connects with the API's settings; there is no alembic.ini and no --sql mode"
        )
    connection = run.connection

    def applied(
        ctx: MigrationContext,
        step: MigrationInfo,
        heads: Collection[Any],
        run_args: Mapping[str, Any],
    ) -> None:
        run.applied.append(str(step.up_revision_id))

    context.configure(
        connection=connection, transaction_per_migration=False, on_version_apply=applied
    )
    with context.begin_transaction():
        # Wait for another migrator, as long as `run.wait` (lock_timeout; statement_timeout is
        # off for this statement, which does nothing but wait), then for the tables.
        _set_local(connection, "lock_timeout", run.wait)
        _set_local(connection, "statement_timeout", 0)
        connection.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": MIGRATION_LOCK_ID})
        run.locked = True
        _set_local(connection, "lock_timeout", run.lock_timeout)
        _set_local(connection, "statement_timeout", run.statement_timeout)
        migration = context.get_context()
        run.before = migration.get_current_revision()
        known = {revision.revision for revision in context.script.walk_revisions()}
        if run.before is not None and run.before not in known:
            # A newer image migrated this database, and this older one runs now: a rollback
            # (docs/deploy.md, A schema change). Migrations keep the previous image working
            # and never run backwards, so there is nothing to do; Alembic itself would stop
            # at a revision it cannot find, failing the rollback's deploy.
            run.after = run.before
            run.newer = True
            return
        context.run_migrations()
        run.after = migration.get_current_revision()


run_migrations()
