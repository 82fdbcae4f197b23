"""${message}

Revision ID: ${up_revision}
Revises: ${down_revision | comma,n}
"""

from __future__ import annotations

from alembic import op

revision = "${up_revision}"
down_revision: str | None = ${'"%s"' % down_revision if down_revision else "None"}
branch_labels: str | None = None
depends_on: str | None = None

# SQL, one statement per string, run in order with op.execute, in the transaction that runs
# every pending revision (migrations/env.py: a failure rolls them all back). Forward only.
# A new table gets its grants here too (payments_api.roles, and 0002_roles.py for the rules).
# A statement that holds a large table's lock for long sets its own SET LOCAL
# statement_timeout first, and says why.
STATEMENTS: tuple[str, ...] = ()


def upgrade() -> None:
    for statement in STATEMENTS:
        op.execute(statement)


def downgrade() -> None:
    raise NotImplementedError("forward-only: a later revision undoes what must be undone")
