"""The Dockerfile: hadolint-clean, non-root, health check on liveness, port 8443, /tmp a
VOLUME, the committed RDS CA bundle, nothing beyond Docker 20.10's built-in BuildKit."""

import hashlib
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from payments_api.settings import RDS_CA_BUNDLE

API_DIR = Path(__file__).resolve().parents[1]
DOCKERFILE = API_DIR / "Dockerfile"
CA_BUNDLE = API_DIR / "certs" / "rds-global-bundle.pem"
CA_BUNDLE_SHA256 = API_DIR / "certs" / "rds-global-bundle.pem.sha256"


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


def test_both_stages_are_the_base_image_python_3_12_slim_by_default() -> None:
    assert instructions("ARG")[0] == "BASE_IMAGE=python:3.12-slim"
    assert instructions("FROM") == ["${BASE_IMAGE} AS builder", "${BASE_IMAGE} AS runtime"]


def test_needs_no_frontend_image() -> None:
    # A `# syntax=` line makes BuildKit pull that frontend from Docker Hub.
    assert not re.search(r"^#\s*syntax\s*=", DOCKERFILE.read_text(), re.M | re.I)


def test_tmp_is_a_volume_so_the_task_volume_gets_the_images_1777() -> None:
    # Fargate makes a task volume root-owned 0755 unless the image declares the path.
    assert 'VOLUME ["/tmp"]' in final_stage()


def test_pip_ca_is_an_optional_build_secret_never_a_layer() -> None:
    (pip_install,) = [run for run in instructions("RUN") if "pip install" in run]
    assert pip_install.startswith("--mount=type=secret,id=pip-ca ")
    assert "[ -s /run/secrets/pip-ca ]" in pip_install
    assert "ca-certificates.crt" not in " ".join(instructions("COPY") + instructions("ADD"))


def test_rds_ca_bundle_is_copied_where_the_api_looks_for_it() -> None:
    assert instructions("ADD") == []  # nothing downloaded at build time
    assert f"--chmod=0644 certs/rds-global-bundle.pem {RDS_CA_BUNDLE}" in instructions("COPY")


def test_rds_ca_bundle_has_its_recorded_sha256() -> None:
    recorded, name = CA_BUNDLE_SHA256.read_text().split()
    assert name == CA_BUNDLE.name
    assert hashlib.sha256(CA_BUNDLE.read_bytes()).hexdigest() == recorded


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
        "!certs/rds-global-bundle.pem",
    }
