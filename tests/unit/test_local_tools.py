"""The tools on this machine a deploy runs (local_tools.py): the Pulumi CLI 3.x, Docker with its
daemon up, and the emulation of the tasks' CPU an image build needs."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from payments_infra.offline import local_tools


def completed(code: int, out: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.CompletedProcess([], code, out, "")


def test_docker_is_not_needed_with_a_prebuilt_image() -> None:
    document = {"config": {"payments:apiImage": "123456789012.dkr.ecr.us-east-1.amazonaws.com/a:1"}}
    assert local_tools.docker_problems(document, which=lambda _: None) == []


def test_docker_missing_without_a_prebuilt_image() -> None:
    [problem] = local_tools.docker_problems({"config": {}}, which=lambda _: None)
    assert problem.startswith("docker is not on PATH, and payments:apiImage is not set")


def test_docker_daemon_down_without_a_prebuilt_image() -> None:
    [problem] = local_tools.docker_problems(
        {"config": {}}, which=lambda _: "/usr/bin/docker", run=lambda _: completed(1)
    )
    assert problem.startswith("the Docker daemon is not answering")
    assert (
        local_tools.docker_problems(
            {"config": {}}, which=lambda _: "/usr/bin/docker", run=lambda _: completed(0, "28.2.2")
        )
        == []
    )


@pytest.mark.parametrize(
    ("path", "version", "wanted"),
    [
        (None, "", "the Pulumi CLI is not on PATH"),
        ("/bin/pulumi", "v2.25.2", "the Pulumi CLI must be version 3.x; got v2.25.2"),
        ("/bin/pulumi", "v3.200.0", None),
    ],
)
def test_pulumi_cli(path: str | None, version: str, wanted: str | None) -> None:
    found = local_tools.pulumi_cli_problems(
        which=lambda _: path, run=lambda _: completed(0, version + "\n")
    )
    if wanted is None:
        assert found == []
    else:
        assert len(found) == 1 and found[0].startswith(wanted)


@pytest.mark.parametrize(
    ("architecture", "machine", "handlers", "fails"),
    [
        ("ARM64", "aarch64", [], False),
        ("ARM64", "arm64", [], False),
        ("X86_64", "x86_64", [], False),
        ("ARM64", "x86_64", ["qemu-aarch64"], False),
        ("ARM64", "x86_64", [], True),
        ("X86_64", "aarch64", ["qemu-aarch64"], True),
        ("X86_64", "aarch64", ["qemu-x86_64"], False),
    ],
)
def test_building_for_another_cpu_needs_its_binfmt_handler(
    tmp_path: Path, architecture: str, machine: str, handlers: list[str], fails: bool
) -> None:
    for handler in handlers:
        (tmp_path / handler).write_text("enabled\n")
    document = {"config": {"payments:apiCpuArchitecture": architecture}}
    found = local_tools.architecture_problems(document, machine=machine, binfmt_dir=tmp_path)
    assert bool(found) == fails
    if fails:
        assert found[0].startswith(f"payments:apiCpuArchitecture is {architecture}, but this ")
        assert "apt-get install qemu-user-static binfmt-support" in found[0]


def test_no_architecture_check_with_a_prebuilt_image(tmp_path: Path) -> None:
    document = {"config": {"payments:apiImage": "r/a:1", "payments:apiCpuArchitecture": "ARM64"}}
    assert local_tools.architecture_problems(document, machine="x86_64", binfmt_dir=tmp_path) == []
