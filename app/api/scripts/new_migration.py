"""Start a new migration: `make migration NAME=add_refunds` (from app/api:
`../../.venv/bin/python -m scripts.new_migration add_refunds`).

Writes payments_api/migrations/versions/NNNN_<name>.py: revision id NNNN_<name>, NNNN the
next number, revising the current head, from payments_api/migrations/script.py.mako, with an
empty tuple of SQL statements to fill in (as it is, it does nothing). Then run the API's
tests: they migrate every test database through it. app/api/README.md, "Migrations".
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Sequence
from pathlib import Path

from alembic import command
from alembic.script import ScriptDirectory

from payments_api.migrations import VERSIONS_DIR, alembic_config

# Lower case, digits and _; short enough that NNNN_<name> fits alembic_version's varchar(32).
NAME = re.compile(r"^[a-z][a-z0-9_]{0,26}$")
NUMBERED = re.compile(r"^(\d{4})_")


def new_migration(name: str, versions_dir: Path = VERSIONS_DIR) -> Path:
    """Write the new revision into `versions_dir` (a directory the revisions are read from)
    and return its path."""
    if not NAME.match(name):
        raise ValueError(
            f"migration name {name!r}: use 1-27 of a-z 0-9 _, starting with a letter "
            "(it becomes the file name and the revision id NNNN_name)"
        )
    extra = () if versions_dir == VERSIONS_DIR else (versions_dir,)
    config = alembic_config(extra)
    script = ScriptDirectory.from_config(config)
    numbers = [
        int(match[1])
        for revision in script.walk_revisions()
        if (match := NUMBERED.match(revision.revision))
    ]
    revision_id = f"{max(numbers, default=0) + 1:04d}_{name}"
    written = command.revision(
        config, message=name.replace("_", " "), rev_id=revision_id, version_path=str(versions_dir)
    )
    assert written is not None and not isinstance(written, list)
    return Path(written.path)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m scripts.new_migration", description=__doc__.splitlines()[0]
    )
    parser.add_argument("name", help="what the migration does, e.g. add_refunds")
    args = parser.parse_args(argv)
    try:
        path = new_migration(args.name)
    except ValueError as error:
        parser.error(str(error))
    print(f"wrote {path.relative_to(Path.cwd()) if path.is_relative_to(Path.cwd()) else path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
