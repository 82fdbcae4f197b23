"""Checks before a real deploy, so ``make up`` fails in seconds with a sentence, not halfway.

    python -m payments_infra.offline.preflight --stack dev [--for up|verify|down]

``make up``, ``make verify`` and ``make down`` run this first. Each check returns the
problems it finds, one sentence each saying what is wrong and what to do:

- the stack name and its file ``Pulumi.<stack>.yaml`` (exists, valid YAML, no key set twice);
- the Pulumi CLI 3.x on PATH;
- a passphrase for the file backend's secrets (``PULUMI_CONFIG_PASSPHRASE``), unless the
  stack uses another secrets provider;
- for ``up`` only: Docker, with its daemon up, when ``payments:apiImage`` is not set
  (``pulumi up`` then builds the API image), able to run binaries of the configured
  ``payments:apiCpuArchitecture`` (QEMU's binfmt handler for a foreign one);
- AWS: reachable at all, then credentials that STS accepts;
- for ``up`` only: every S3 bucket name the plan holds is free, or already this stack's.
  Bucket names are global: someone else's ``frontend-dev1`` would otherwise fail the deploy
  twenty minutes in, half built.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import shutil
import subprocess
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from payments_infra import REPO_ROOT
from payments_infra.config import REQUIRED_REGION
from payments_infra.offline.stack_file import (
    StackFileError,
    load_stack_document,
    read_stack_config,
    stack_file_path,
)

# An offline machine should hear "cannot reach AWS" in seconds, not after minutes of retries.
STS_CONNECT_TIMEOUT_SECONDS = 5
STS_ATTEMPTS = 2

Runner = Callable[[list[str]], "subprocess.CompletedProcess[str]"]
PROJECT = "payments"  # Pulumi.yaml's name: the Project tag on every resource
BINFMT_DIR = Path("/proc/sys/fs/binfmt_misc")
# payments:apiCpuArchitecture -> what `uname -m` says on such a machine, and QEMU's handler.
ARCHITECTURES = {"ARM64": ("aarch64", "qemu-aarch64"), "X86_64": ("x86_64", "qemu-x86_64")}
MACHINE_ALIASES = {"arm64": "aarch64", "amd64": "x86_64"}


def _run(command: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)


def stack_problems(root: Path, stack: str) -> tuple[dict[str, Any], list[str]]:
    """The stack file's document, or the one problem that stops everything else."""
    try:
        return load_stack_document(stack_file_path(root, stack)), []
    except StackFileError as error:
        return {}, [str(error)]


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


def passphrase_problems(document: Mapping[str, Any], environ: Mapping[str, str]) -> list[str]:
    """The file backend keeps secrets encrypted with a passphrase that Pulumi asks for."""
    backend = environ.get("PULUMI_BACKEND_URL", "")
    provider = str(document.get("secretsprovider") or "passphrase")
    if not backend.startswith("file://") or provider != "passphrase":
        return []
    if environ.get("PULUMI_CONFIG_PASSPHRASE") is not None or environ.get(
        "PULUMI_CONFIG_PASSPHRASE_FILE"
    ):
        return []
    return [
        "PULUMI_CONFIG_PASSPHRASE is not set: the local file backend encrypts the stack's "
        "secrets with it, so export it (or PULUMI_CONFIG_PASSPHRASE_FILE) and keep it safe"
    ]


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


def planned_bucket_names(config: Mapping[str, str], stack: str) -> list[str]:
    """The S3 bucket names the offline plan of this stack holds."""
    from payments_infra.offline.mocks import record_program  # noqa: PLC0415 (slow import

    graph = record_program(config, stack=stack)
    return sorted(str(b.inputs["bucket"]) for b in graph.of_type("aws:s3/bucket:Bucket"))


def bucket_problems(s3: Any, names: list[str], stack: str) -> list[str]:
    """HeadBucket: 404 free, 403 someone else's, 200 ours (then the tags say whose)."""
    from botocore.exceptions import ClientError  # noqa: PLC0415

    taken = []
    for name in names:
        try:
            s3.head_bucket(Bucket=name)
        except ClientError as error:
            status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
            if status == 404:
                continue
            taken.append(
                f"{name} (another AWS account's)" if status == 403 else f"{name} ({status})"
            )
            continue
        if not _is_this_stacks(s3, name, stack):
            taken.append(f"{name} (in this account, but not this stack's)")
    if not taken:
        return []
    return [
        f"S3 bucket names are global and these are taken: {', '.join(taken)}; choose another "
        "payments:environmentSuffix (it ends every bucket name) and run again"
    ]


def _is_this_stacks(s3: Any, name: str, stack: str) -> bool:
    from botocore.exceptions import ClientError  # noqa: PLC0415

    try:
        tags = {t["Key"]: t["Value"] for t in s3.get_bucket_tagging(Bucket=name)["TagSet"]}
    except ClientError:
        return False
    return tags.get("Project") == PROJECT and tags.get("Stack") == stack


def aws_problems(sts: Any) -> list[str]:
    """Reach STS first, then ask who we are: two different failures, two different fixes."""
    from botocore.exceptions import (  # noqa: PLC0415 (only the deploy path needs botocore)
        ClientError,
        ConnectionError,
        HTTPClientError,
        NoCredentialsError,
        PartialCredentialsError,
        ProfileNotFound,
        SSOError,
        TokenRetrievalError,
    )

    try:
        identity = sts.get_caller_identity()
    except (ConnectionError, HTTPClientError) as error:
        return [
            f"cannot reach AWS (STS in {REQUIRED_REGION}): check the network, proxy "
            "(HTTPS_PROXY) or VPN, then run again; the credentials were not checked "
            f"({type(error).__name__})"
        ]
    except (NoCredentialsError, PartialCredentialsError, ProfileNotFound) as error:
        return [
            "no usable AWS credentials: set AWS_PROFILE or AWS_ACCESS_KEY_ID/"
            f"AWS_SECRET_ACCESS_KEY, or run aws sso login ({error})"
        ]
    except (TokenRetrievalError, SSOError):
        return ["the AWS SSO session has expired: run aws sso login, then run again"]
    except ClientError as error:
        code = error.response.get("Error", {}).get("Code", "unknown")
        return [f"AWS refused the credentials ({code}): renew them or set others, then run again"]
    print(f"preflight: AWS account {identity['Account']} as {identity['Arn']}")
    return []


def aws_client(service: str) -> Any:
    import boto3  # noqa: PLC0415
    from botocore.config import Config  # noqa: PLC0415

    config = Config(
        connect_timeout=STS_CONNECT_TIMEOUT_SECONDS,
        retries={"max_attempts": STS_ATTEMPTS, "mode": "standard"},
    )
    return boto3.client(service, region_name=REQUIRED_REGION, config=config)


def problems(stack: str, command: str, root: Path = REPO_ROOT) -> list[str]:
    document, found = stack_problems(root, stack)
    if found:
        return found  # without a usable stack file nothing else can be judged
    found += pulumi_cli_problems()
    found += passphrase_problems(document, os.environ)
    if command == "up":
        found += docker_problems(document) or architecture_problems(document)
    aws_found = aws_problems(aws_client("sts"))
    found += aws_found
    if command == "up" and not aws_found:
        found += _planned_bucket_problems(root, stack)
    return found


def _planned_bucket_problems(root: Path, stack: str) -> list[str]:
    from payments_infra.config.errors import ConfigError  # noqa: PLC0415

    try:
        names = planned_bucket_names(read_stack_config(stack_file_path(root, stack)), stack)
    except ConfigError as error:
        return [f"Pulumi.{stack}.yaml: {error}"]
    return bucket_problems(aws_client("s3"), names, stack)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Checks before make up, verify and down")
    parser.add_argument("--stack", default="dev")
    parser.add_argument("--for", dest="command", choices=("up", "verify", "down"), default="up")
    args = parser.parse_args(argv)
    found = problems(args.stack, args.command)
    for problem in found:
        print(f"preflight: {problem}", file=sys.stderr)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
