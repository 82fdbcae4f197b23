"""A Python Lambda function's code archive: its own files plus pinned pure-Python packages.

A function's own files are the modules at the top of its folder (``function_sources``): at the
archive's root, where Lambda's runtime imports ``handler`` and its sibling modules as top-level
modules (functions/__init__.py says how they import each other).

How a function's dependencies get into its archive: from the deploying virtualenv, not from
the network. ``make venv`` installs the function's ``requirements.txt`` (every line pinned
and hash-locked) into ``.venv`` with ``pip install --require-hashes --no-deps
--only-binary=:all:``, in a pip run of its own, so pip checks each wheel's hash against the
lock. ``python_archive`` then packs the installed files of exactly those distributions,
after checking that each one is installed at its locked version, is pure Python (a
``Root-Is-Purelib`` wheel: it runs on the function's arm64 whatever machine deploys), and
that every file still has the SHA-256 that pip recorded when it installed the wheel.

So ``pulumi up`` and the offline plan (the program under mocks) need no network and no build
step, the archive holds the very code the function's tests ran against (they import it from
the same virtualenv), and its content (hence the function's code hash) changes only when
the lock or the function's files do. A virtualenv that lacks a package, or has another
version, stops the program before any resource is registered, naming the fix.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path, PurePosixPath

import pulumi

LOCK_LINE = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;\\]+)")


class FunctionCodeError(ValueError):
    """The deploying virtualenv does not hold what a function's lock file pins."""


@dataclass(frozen=True)
class Pin:
    name: str
    version: str


def read_lock(path: Path) -> list[Pin]:
    """The ``name==version`` lines of a requirements file (hash lines and comments skipped)."""
    pins = []
    for line in path.read_text().splitlines():
        match = LOCK_LINE.match(line.strip())
        if match:
            pins.append(Pin(match.group(1), match.group(2)))
    return pins


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _record_hash(path: Path) -> str:
    digest = hashlib.sha256(path.read_bytes()).digest()
    return "sha256=" + base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def _describes_package(path: PurePosixPath) -> bool:
    """METADATA and licence files: what a wheel says about itself, kept with the code."""
    licence = path.name.upper().startswith(("LICENSE", "LICENCE", "COPYING", "NOTICE"))
    return path.name == "METADATA" or "licenses" in path.parts or licence


def distribution_files(pin: Pin, lock: Path) -> dict[str, Path]:
    """Archive path -> installed file, for one pinned distribution: its packages and modules
    (no byte code) and its METADATA and licence files, each checked against pip's RECORD."""
    fix = f"run `make venv` (pip install --require-hashes --no-deps -r {lock})"
    try:
        dist = metadata.distribution(pin.name)
    except metadata.PackageNotFoundError as error:
        raise FunctionCodeError(f"{pin.name}=={pin.version} is not installed: {fix}") from error
    if dist.version != pin.version:
        raise FunctionCodeError(
            f"{pin.name} is {dist.version} in this virtualenv, {lock} pins {pin.version}: {fix}"
        )
    if "Root-Is-Purelib: true" not in (dist.read_text("WHEEL") or ""):
        raise FunctionCodeError(f"{pin.name} is not a pure-Python wheel: it cannot be packed")
    files: dict[str, Path] = {}
    for entry in dist.files or []:
        posix = PurePosixPath(str(entry))
        if posix.parts[0] == ".." or "__pycache__" in posix.parts or posix.suffix == ".pyc":
            continue  # scripts outside site-packages, byte code of this interpreter
        if posix.parts[0].endswith(".dist-info") and not _describes_package(posix):
            continue  # INSTALLER, REQUESTED, RECORD, direct_url.json: about this install
        if entry.hash is None:
            continue
        path = Path(str(entry.locate()))
        if _record_hash(path) != f"{entry.hash.mode}={entry.hash.value}":
            raise FunctionCodeError(f"{posix} differs from the {pin.name} wheel pip installed")
        files[str(posix)] = path
    return files


def function_sources(directory: Path) -> dict[str, Path]:
    """Archive path -> file, sorted: every module at the top of a function's folder, for the
    root of its archive. Left out: ``__init__.py``, which makes the folder a package in this
    repository only (in Lambda the modules are top-level ones), and test modules
    (``test_*.py``, ``*_test.py``, ``conftest.py``). A folder without ``handler.py``, the
    module Lambda calls (``handler.handler``), raises FileNotFoundError: it is not one."""
    if not (directory / "handler.py").is_file():
        raise FileNotFoundError(f"{directory} has no handler.py: it is not a function's folder")
    return {
        path.name: path
        for path in sorted(directory.glob("*.py"))
        if path.is_file()
        and path.name not in ("__init__.py", "conftest.py")
        and not path.name.startswith("test_")
        and not path.name.endswith("_test.py")
    }


def python_archive(own_files: Mapping[str, Path], lock: Path) -> pulumi.AssetArchive:
    """A Lambda archive: ``own_files`` (archive path -> file) plus every distribution the
    lock file pins, at the archive's root as Lambda's Python runtime expects."""
    files: dict[str, Path] = {}
    for pin in read_lock(lock):
        files.update(distribution_files(pin, lock))
    files.update(own_files)
    return pulumi.AssetArchive(
        {name: pulumi.FileAsset(str(path)) for name, path in sorted(files.items())}
    )
