"""scripts/require-tools: a missing tool is one sentence that says what to install."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from payments_infra import REPO_ROOT

SCRIPT = REPO_ROOT / "scripts" / "require-tools"


def fake_bin(tmp_path: Path, **tools: str) -> Path:
    """A PATH with the shell utilities the script uses, plus fake tools printing a version."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for utility in ("sort", "head", "tr", "printf"):
        found = shutil.which(utility)
        assert found, utility
        (bin_dir / utility).symlink_to(found)
    for name, version in tools.items():
        script = bin_dir / name
        script.write_text(f"#!/bin/sh\necho {version}\n")
        script.chmod(0o755)
    return bin_dir


def require(tmp_path: Path, bin_dir: Path, *tools: str) -> subprocess.CompletedProcess[str]:
    chromium = tmp_path / "chromium"
    env = {
        "PATH": str(bin_dir),
        "POSTGRES_ROOT": str(tmp_path / "postgresql"),
        "CHROMIUM_PATH": str(chromium),
    }
    bash = shutil.which("bash")
    assert bash
    return subprocess.run(
        [bash, str(SCRIPT), *tools], env=env, capture_output=True, text=True, check=False
    )


def install_postgres_and_chromium(tmp_path: Path) -> None:
    initdb = tmp_path / "postgresql" / "15" / "bin" / "initdb"
    initdb.parent.mkdir(parents=True)
    initdb.touch()
    (tmp_path / "chromium").touch()
    os.chmod(tmp_path / "chromium", 0o755)


def test_every_tool_present_passes_silently(tmp_path: Path) -> None:
    install_postgres_and_chromium(tmp_path)
    result = require(tmp_path, fake_bin(tmp_path, node="v20.20.2", npm="11.1.0"), "node", "npm")
    assert (result.returncode, result.stderr) == (0, "")
    result = require(tmp_path, tmp_path / "bin", "postgres", "chromium")
    assert (result.returncode, result.stderr) == (0, "")


@pytest.mark.parametrize(
    ("tools", "present", "sentence"),
    [
        (
            ("node",),
            {},
            "make: Node.js is not installed: install Node.js 20.19+ and npm "
            "(Debian: apt-get install nodejs npm).",
        ),
        (
            ("node",),
            {"node": "v18.19.0"},
            "make: Node.js 20.19+ is needed (the web app's engines field); got v18.19.0: "
            "upgrade Node.js.",
        ),
        (
            ("npm",),
            {"node": "v20.20.2"},
            "make: npm is not installed: install it with Node.js 20.19+ "
            "(Debian: apt-get install npm).",
        ),
        (("postgres",), {}, "make: PostgreSQL server binaries are not installed"),
        (("chromium",), {}, "make: Chromium is not installed at "),
        (("docker",), {}, "make: Docker is not installed: install it"),
        (("wrk",), {}, "make: wrk (the HTTP load generator of the API benchmark) is not installed"),
    ],
)
def test_a_missing_tool_is_one_sentence_naming_what_to_install(
    tmp_path: Path, tools: tuple[str, ...], present: dict[str, str], sentence: str
) -> None:
    result = require(tmp_path, fake_bin(tmp_path, **present), *tools)
    assert result.returncode == 1
    assert result.stderr.startswith(sentence), result.stderr
    assert result.stderr.count("\n") == 1


def test_the_makefile_checks_tools_before_each_step_that_needs_them() -> None:
    makefile = (REPO_ROOT / "Makefile").read_text()
    for target, tools in [
        ("app/web/node_modules/.installed:", "$(REQUIRE) node npm"),
        ("api-test:", "$(REQUIRE) postgres"),
        ("e2e:", "$(REQUIRE) postgres chromium"),
        ("bench: venv web", "$(REQUIRE) postgres wrk"),
    ]:
        recipe = makefile.split(f"\n{target}", 1)[1].split("\n\n", 1)[0]
        assert tools in recipe, target
