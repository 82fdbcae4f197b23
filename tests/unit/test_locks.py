"""The root dependency locks: every package pinned with its hashes, none stale or in conflict.

requirements.txt (what Pulumi installs for the program) and requirements-dev.txt (make venv)
are compiled by ``make lock`` from the hand-edited requirements.in and requirements-dev.in.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from payments_infra import REPO_ROOT

LOCKS = ["requirements.txt", "requirements-dev.txt"]
PIN = re.compile(r"([A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[^\]]*\])?==([^\s;]+)")


def entries(lock: Path) -> list[str]:
    """The lock's requirements, continuation lines joined, comments dropped."""
    text = re.sub(r"\\\n\s*", " ", lock.read_text())
    stripped = (line.split("#", 1)[0].strip() for line in text.splitlines())
    return [line for line in stripped if line]


def pins(lock: Path) -> dict[str, tuple[str, frozenset[str]]]:
    """name -> (version, hashes) of every entry of a lock."""
    found = {}
    for entry in entries(lock):
        match = PIN.match(entry)
        assert match, f"{lock.name}: not a pinned requirement: {entry}"
        name = re.sub(r"[-_.]+", "-", match.group(1)).lower()
        found[name] = (match.group(2), frozenset(re.findall(r"--hash=(sha256:\w+)", entry)))
    return found


def requested(source: Path) -> dict[str, str]:
    """name -> version of each ``name==version`` line of a .in file and the files it -r's."""
    found: dict[str, str] = {}
    for raw in source.read_text().splitlines():
        line = raw.split("#", 1)[0].strip()
        if line.startswith("-r "):
            found |= requested(source.parent / line[3:].strip())
        elif match := PIN.fullmatch(line.split(";", 1)[0].strip()):
            found[re.sub(r"[-_.]+", "-", match.group(1)).lower()] = match.group(2)
    return found


@pytest.mark.parametrize("lock", LOCKS)
def test_every_entry_is_pinned_with_hashes_and_made_by_make_lock(lock: str) -> None:
    path = REPO_ROOT / lock
    assert "make lock" in path.read_text().splitlines()[1]
    for entry in entries(path):
        assert not entry.startswith(("-e", "-r", "-c", ".", "/")), entry
        assert "--hash=sha256:" in entry, f"{lock}: no hash for {entry.split()[0]}"
    assert len(pins(path)) >= 20


@pytest.mark.parametrize("lock", LOCKS)
def test_each_requested_pin_is_in_its_lock_at_that_version(lock: str) -> None:
    locked = pins(REPO_ROOT / lock)
    source = REPO_ROOT / lock.replace(".txt", ".in")
    stale = {
        name: (version, locked.get(name, ("missing", frozenset()))[0])
        for name, version in requested(source).items()
        if locked.get(name, ("", frozenset()))[0] != version
    }
    assert stale == {}, "run make lock"


def test_the_program_lock_is_inside_the_dev_lock() -> None:
    program, dev = pins(REPO_ROOT / "requirements.txt"), pins(REPO_ROOT / "requirements-dev.txt")
    assert {name: pin for name, pin in program.items() if dev.get(name) != pin} == {}


def test_the_rotation_lock_agrees_with_the_dev_lock() -> None:
    rotation = pins(REPO_ROOT / "functions" / "db_rotation" / "requirements.txt")
    dev = pins(REPO_ROOT / "requirements-dev.txt")
    assert {n: v for n, (v, _) in rotation.items() if n in dev and dev[n][0] != v} == {}


def test_pulumi_installs_the_program_lock_with_pip() -> None:
    # Another toolchain (uv, poetry) would read its own files, not requirements.txt.
    options = yaml.safe_load((REPO_ROOT / "Pulumi.yaml").read_text())["runtime"]["options"]
    assert options["toolchain"] == "pip"
