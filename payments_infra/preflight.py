"""Checks before a real deploy, so ``make up`` fails in seconds with a sentence, not halfway.

    python -m payments_infra.preflight --stack dev [--for up|verify|down]

``make up``, ``make verify`` and ``make down`` run this first. Each check returns the
problems it finds, one sentence each saying what is wrong and what to do:

- the stack name and its file ``Pulumi.<stack>.yaml`` (exists, valid YAML, no key set twice);
- the Pulumi CLI 3.x on PATH;
- a passphrase for the file backend's secrets (``PULUMI_CONFIG_PASSPHRASE``), unless the
  stack uses another secrets provider;
- for ``up`` only: Docker, with its daemon up, when ``payments:apiImage`` is not set
  (``pulumi up`` then builds the API image);
- AWS: reachable at all, then credentials that STS accepts.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from payments_infra.stack_file import StackFileError, load_stack_document, stack_file_path

REPO_ROOT = Path(__file__).resolve().parent.parent
REGION = "us-east-1"
# An offline machine should hear "cannot reach AWS" in seconds, not after minutes of retries.
STS_CONNECT_TIMEOUT_SECONDS = 5
STS_ATTEMPTS = 2

Runner = Callable[[list[str]], "subprocess.CompletedProcess[str]"]


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
            f"cannot reach AWS (STS in {REGION}): check the network, proxy (HTTPS_PROXY) or "
            f"VPN, then run again; the credentials were not checked ({type(error).__name__})"
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


def sts_client() -> Any:
    import boto3  # noqa: PLC0415
    from botocore.config import Config  # noqa: PLC0415

    config = Config(
        connect_timeout=STS_CONNECT_TIMEOUT_SECONDS,
        retries={"max_attempts": STS_ATTEMPTS, "mode": "standard"},
    )
    return boto3.client("sts", region_name=REGION, config=config)


def problems(stack: str, command: str, root: Path = REPO_ROOT) -> list[str]:
    document, found = stack_problems(root, stack)
    if found:
        return found  # without a usable stack file nothing else can be judged
    found += pulumi_cli_problems()
    found += passphrase_problems(document, os.environ)
    if command == "up":
        found += docker_problems(document)
    found += aws_problems(sts_client())
    return found


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
