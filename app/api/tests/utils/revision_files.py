"""Revision files the migration tests write into a temporary directory, which
`alembic_config(version_locations)` reads beside versions/: revisions that probe, fail or
block, after the head.
"""

from pathlib import Path


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
