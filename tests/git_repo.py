"""git run on a throwaway repository, for the tests of the image's commit and of the release
checks (the ``repo`` fixture of tests/unit/conftest.py makes one holding an app/api)."""

from __future__ import annotations

import subprocess
from pathlib import Path


def git(work_tree: Path, *args: str) -> str:
    """``git`` run in ``work_tree`` as a fixed author; its output, stripped."""
    return subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
        cwd=work_tree,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
