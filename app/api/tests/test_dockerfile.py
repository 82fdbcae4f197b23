"""The Dockerfile: hadolint-clean, non-root, health check on liveness, port 8443, /tmp a
VOLUME, the committed RDS CA bundle, nothing beyond Docker 20.10's built-in BuildKit; its base
pinned by digest, and the dependency lock it installs (requirements.txt: every package pinned,
with hashes) kept in step with the hand-edited pins (requirements.in)."""

import hashlib
import importlib.metadata
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from payments_api.settings import RDS_CA_BUNDLE

API_DIR = Path(__file__).resolve().parents[1]
DOCKERFILE = API_DIR / "Dockerfile"
CA_BUNDLE = API_DIR / "certs" / "rds-global-bundle.pem"
CA_BUNDLE_SHA256 = API_DIR / "certs" / "rds-global-bundle.pem.sha256"
REQUIREMENTS_IN = API_DIR / "requirements.in"
LOCK = API_DIR / "requirements.txt"
BUILD_IMAGE = API_DIR / "docker" / "build-image.sh"
# A python:3.12 slim tag (3.12, 3.12.N, either optionally -bookworm), pinned by the digest of
# its multi-arch index.
PINNED_BASE = re.compile(r"python:3\.12(\.\d+)?-slim(-bookworm)?@sha256:[0-9a-f]{64}")
# Where the lock must install: the tests and the local base (Debian bookworm, Python 3.11,
# amd64) and production (python:3.12-slim on ARM64 Fargate), and the two others between.
TARGETS = [(python, machine) for python in ("3.11", "3.12") for machine in ("x86_64", "aarch64")]


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


@dataclass(frozen=True)
class Locked:
    requirement: Requirement
    hashes: list[str]

    @property
    def name(self) -> str:
        return canonicalize_name(self.requirement.name)

    @property
    def version(self) -> str:
        (spec,) = self.requirement.specifier
        return spec.version


def logical_lines(path: Path) -> list[str]:
    """A requirements file's entries: continuation lines joined, comments dropped."""
    text = re.sub(r"\\\n", " ", path.read_text())
    lines = (re.sub(r"(^|\s)#.*", "", line).strip() for line in text.splitlines())
    return [line for line in lines if line]


def lock_entries() -> list[Locked]:
    entries = []
    for line in logical_lines(LOCK):
        spec, *hash_options = re.split(r"\s+(?=--)", line)
        assert not spec.startswith("-"), f"the lock has an option line: {line!r}"
        hashes = []
        for option in hash_options:
            match = re.fullmatch(r"--hash=sha256:([0-9a-f]{64})", option)
            assert match, f"{spec}: {option!r} is not a sha256 --hash"
            hashes.append(match.group(1))
        entries.append(Locked(Requirement(spec), hashes))
    return entries


def input_requirements() -> list[Requirement]:
    return [Requirement(line) for line in logical_lines(REQUIREMENTS_IN)]


def target_environment(python: str, machine: str, extra: str = "") -> dict[str, str]:
    """PEP 508 marker values of CPython `python` on Linux `machine`."""
    environment = {key: str(value) for key, value in default_environment().items()}
    environment.update(
        implementation_name="cpython",
        platform_python_implementation="CPython",
        python_version=python,
        python_full_version=f"{python}.0",
        implementation_version=f"{python}.0",
        sys_platform="linux",
        platform_system="Linux",
        os_name="posix",
        platform_machine=machine,
        extra=extra,
    )
    return environment


def test_default_base_is_python_3_12_slim_pinned_by_its_index_digest() -> None:
    name, _, default = instructions("ARG")[0].partition("=")
    assert name == "BASE_IMAGE"
    assert PINNED_BASE.fullmatch(default), f"{default!r} is not python:3.12-slim by digest"


def test_both_stages_are_the_base_image() -> None:
    assert instructions("FROM") == ["${BASE_IMAGE} AS builder", "${BASE_IMAGE} AS runtime"]


def test_build_script_takes_the_default_base_from_the_dockerfile() -> None:
    # One place to refresh the digest: no second copy of it (or of a tag) in build-image.sh.
    lines = BUILD_IMAGE.read_text().splitlines()
    code = [line for line in lines if not line.lstrip().startswith("#")]
    assert not [line for line in code if "python:3" in line or "sha256:" in line]
    assert any("ARG BASE_IMAGE=" in line and "Dockerfile" in line for line in code)


def test_image_installs_the_lock_with_hashes_and_nothing_else() -> None:
    (pip_install,) = [run for run in instructions("RUN") if "pip install" in run]
    options = pip_install.split("pip install", 1)[1].split()
    for option in ("--require-hashes", "--no-deps", "--only-binary=:all:"):
        assert option in options
    assert options[-2:] == ["-r", "/tmp/requirements.txt"]
    copies = [copy for copy in instructions("COPY") if "requirements" in copy]
    assert copies == ["requirements.txt /tmp/requirements.txt"]


def test_every_package_of_the_lock_is_pinned_with_sha256_hashes() -> None:
    entries = lock_entries()
    assert len(entries) > len(input_requirements())  # the whole tree, not the top level
    names = [entry.name for entry in entries]
    assert len(names) == len(set(names)), "a package is locked twice"
    for entry in entries:
        specifiers = list(entry.requirement.specifier)
        assert entry.requirement.url is None, f"{entry.name}: a URL, not a pin"
        assert [spec.operator for spec in specifiers] == ["=="], f"{entry.name}: not pinned =="
        assert "*" not in entry.version, f"{entry.name}: a wildcard pin"
        assert entry.hashes, f"{entry.name}=={entry.version} has no --hash=sha256:"


def test_lock_was_compiled_by_the_lock_script() -> None:
    header = LOCK.read_text().splitlines()[:2]
    assert header[0].startswith("# This file was autogenerated by uv")
    assert header[1].strip("# ") == "app/api/scripts/lock-requirements.sh"


def test_input_pins_every_top_level_requirement() -> None:
    for requirement in input_requirements():
        assert [spec.operator for spec in requirement.specifier] == ["=="], requirement
        assert requirement.marker is None, f"{requirement}: the lock script sets no markers"


def test_lock_has_every_pin_of_the_input_at_the_same_version() -> None:
    # Fails after an edit of requirements.in until the lock is compiled again (`make lock`).
    locked = {entry.name: entry.version for entry in lock_entries()}
    stale = {
        str(requirement): locked.get(canonicalize_name(requirement.name), "missing")
        for requirement in input_requirements()
        if locked.get(canonicalize_name(requirement.name))
        != next(iter(requirement.specifier)).version
    }
    assert not stale, f"requirements.txt is stale, run `make lock`: {stale}"


@pytest.mark.parametrize(("python", "machine"), TARGETS)
def test_lock_is_complete_for_each_target_so_no_deps_misses_nothing(
    python: str, machine: str
) -> None:
    """Every dependency (markers evaluated for the target) of every package the lock installs
    there is in the lock at a version it accepts. Dependencies are read from the metadata of
    the packages installed here at the locked version (Requires-Dist does not vary by wheel)."""
    entries = lock_entries()
    installs = {
        entry.name: entry.version
        for entry in entries
        if entry.requirement.marker is None
        or entry.requirement.marker.evaluate(target_environment(python, machine))
    }
    wanted: list[tuple[str, Requirement, str]] = [
        ("requirements.in", requirement, extra)
        for requirement in input_requirements()
        for extra in sorted(requirement.extras) or [""]
    ]
    checked = set()
    for name, version in installs.items():
        try:
            distribution = importlib.metadata.distribution(name)
        except importlib.metadata.PackageNotFoundError:
            continue
        if canonicalize_name(distribution.metadata["Version"]) != canonicalize_name(version):
            continue
        checked.add(name)
        wanted += [(name, Requirement(line), "") for line in distribution.requires or []]
    missing = []
    for parent, requirement, extra in wanted:
        if requirement.marker and not requirement.marker.evaluate(
            target_environment(python, machine, extra)
        ):
            continue
        locked = installs.get(canonicalize_name(requirement.name))
        if locked is None or not requirement.specifier.contains(locked, prereleases=True):
            missing.append(f"{parent} needs {requirement}, the lock has {locked}")
    assert not missing, f"Python {python} on {machine}: {missing}"
    # The API's own packages at least are installed here at their locked versions.
    assert {canonicalize_name(r.name) for r in input_requirements()} <= checked


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
    # requirements.txt is the lock; the hand-edited requirements.in stays out of the image.
    lines = (API_DIR / ".dockerignore").read_text().split()
    assert "*" in lines
    assert {line for line in lines if line.startswith("!")} == {
        "!requirements.txt",
        "!payments_api/",
        "!certs/rds-global-bundle.pem",
    }
