"""Preflight of `make up`, `verify` and `down`: the tools on this machine a deploy runs.

The Pulumi CLI 3.x for every command; for ``up`` when ``pulumi up`` builds the API image
(``release.builds_image``), Docker with its daemon up, able to run binaries of
``payments:apiCpuArchitecture`` (QEMU's binfmt handler for a foreign one).
"""

from __future__ import annotations

import platform
import re
import shutil
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from payments_infra.offline.commands import Runner
from payments_infra.offline.commands import run as _run

BINFMT_DIR = Path("/proc/sys/fs/binfmt_misc")
# payments:apiCpuArchitecture -> what `uname -m` says on such a machine, and QEMU's handler.
ARCHITECTURES = {"ARM64": ("aarch64", "qemu-aarch64"), "X86_64": ("x86_64", "qemu-x86_64")}
MACHINE_ALIASES = {"arm64": "aarch64", "amd64": "x86_64"}


def pulumi_cli_problems(
    which: Callable[[str], str | None] = shutil.which, run: Runner = _run
) -> list[str]:
    pulumi = which("pulumi")
    if pulumi is None:
        return [
            "the Pulumi CLI is not on PATH: install Pulumi 3.x "
            "(https://www.pulumi.com/docs/install/) and run again"
        ]
    version = run([pulumi, "version"]).stdout.strip()
    if not re.match(r"v?3\.", version):
        return [f"the Pulumi CLI must be version 3.x; got {version or 'no version'}"]
    return []


def docker_problems(
    document: Mapping[str, Any],
    which: Callable[[str], str | None] = shutil.which,
    run: Runner = _run,
) -> list[str]:
    """Without payments:apiImage, `pulumi up` builds the API image with the local Docker."""
    config = document.get("config") or {}
    if config.get("payments:apiImage"):
        return []
    docker = which("docker")
    if docker is None:
        return [
            "docker is not on PATH, and payments:apiImage is not set, so `pulumi up` would "
            "build the API image: install Docker, or set payments:apiImage to a pushed image"
        ]
    if run([docker, "info", "--format", "{{.ServerVersion}}"]).returncode != 0:
        return [
            "the Docker daemon is not answering (docker info failed), and payments:apiImage is "
            "not set: start the daemon (e.g. systemctl start docker), or set payments:apiImage"
        ]
    return []


def architecture_problems(
    document: Mapping[str, Any],
    machine: str = platform.machine(),
    binfmt_dir: Path = BINFMT_DIR,
) -> list[str]:
    """Building an image for another CPU needs QEMU's binfmt handler for that CPU."""
    config = document.get("config") or {}
    if config.get("payments:apiImage"):
        return []
    architecture = str(config.get("payments:apiCpuArchitecture") or "ARM64")
    if architecture not in ARCHITECTURES:
        return []  # the config's own validation names it
    wanted, handler = ARCHITECTURES[architecture]
    if MACHINE_ALIASES.get(machine, machine) == wanted:
        return []
    # No binfmt_misc (macOS, Windows): Docker Desktop emulates other CPUs in its own VM.
    if not binfmt_dir.is_dir() or (binfmt_dir / handler).is_file():
        return []
    return [
        f"payments:apiCpuArchitecture is {architecture}, but this machine is {machine} and "
        f"cannot run {wanted} binaries to build the image (no {handler} in {binfmt_dir}): "
        "install QEMU user emulation (Debian: apt-get install qemu-user-static "
        f"binfmt-support), or set payments:apiCpuArchitecture to match, or set "
        "payments:apiImage to a prebuilt image"
    ]
