"""Checks before a real deploy, so ``make up`` fails in seconds with a sentence, not halfway.

    python -m payments_infra.offline.preflight --stack dev [--for up|verify|down]

``make up``, ``make verify`` and ``make down`` run this first. Each check returns the
problems it finds, one sentence each saying what is wrong and what to do:

- the stack name and its file ``Pulumi.<stack>.yaml`` (exists, valid YAML, no key set twice);
- the Pulumi CLI 3.x on PATH;
- the state backend (``state_backend.py``): one is set (Pulumi.yaml ``backend.url`` or
  ``PULUMI_BACKEND_URL``); the stack's secrets provider usable: the passphrase for a local
  backend, a KMS key (enabled, this identity may use it) for a shared one; an S3 state bucket
  that answers and keeps versions; for ``up``, no second copy of a stack whose buckets exist
  while the backend has no such stack (someone on the wrong backend);
- for ``up`` only: the work tree is committed (``release.py``: every stack, unless
  ``PAYMENTS_ALLOW_DIRTY_DEPLOY=1`` for a development one);
- for ``up`` only: Docker, with its daemon up, when neither ``payments:apiImage`` nor
  ``payments:apiImageTag`` is set (``pulumi up`` then builds the API image), able to run
  binaries of the configured ``payments:apiCpuArchitecture`` (QEMU's binfmt handler for a
  foreign one);
- for ``up`` only, when ``pulumi up`` builds the image: the base image that
  ``app/api/Dockerfile`` pins by digest exists on Docker Hub, and is a multi-arch index with an
  image for ``payments:apiCpuArchitecture`` (a wrong digest would fail every build);
- AWS: reachable at all, then credentials that STS accepts;
- for ``up`` only, with ``payments:apiImageTag`` (a rollback): the stack's ECR repository
  holds that image (``release.py``);
- for ``up`` only: every S3 bucket name the plan holds is free, or already this stack's.
  Bucket names are global: someone else's ``frontend-dev1`` would otherwise fail the deploy
  twenty minutes in, half built;
- for ``up`` only: the Lambda concurrency the plan reserves leaves the 100 unreserved that
  AWS insists on (new accounts start with a quota too low to reserve any);
- for ``up`` only: the zones ``pulumi up`` will build in, worked out in this account the way
  the program does (``aws/provider.py``), each offer Aurora Serverless v2 and every interface
  endpoint the plan holds; a pinned zone the default ARM64 tasks cannot run in is named;
- for ``up`` only, with ``payments:accountControls``: the account has no GuardDuty detector,
  Security Hub, AWS Config recorder or delivery channel, or CloudTrail trail but this
  stack's. They are one per account, and often the organisation's.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import shutil
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from payments_infra import PROJECT, REPO_ROOT
from payments_infra.config import REQUIRED_REGION, StackConfig
from payments_infra.offline import creation_settings
from payments_infra.offline.account_controls_check import (
    AccountControlClients,
    account_control_problems,
)
from payments_infra.offline.base_image import base_image_problems
from payments_infra.offline.commands import Runner
from payments_infra.offline.commands import run as _run
from payments_infra.offline.production import production_problems
from payments_infra.offline.protection import protected_data_problems
from payments_infra.offline.release import builds_image, dirty_tree_problems, image_tag_problems
from payments_infra.offline.stack_file import (
    StackFileError,
    load_stack_document,
    read_stack_config,
    stack_file_path,
)
from payments_infra.offline.state_backend import (
    backend_problems,
    effective_backend,
    missing_state_problems,
    s3_state_problems,
    secrets_provider_problems,
)
from payments_infra.offline.zone_offers import interface_endpoint_services, zone_problems

# An offline machine should hear "cannot reach AWS" in seconds, not after minutes of retries.
STS_CONNECT_TIMEOUT_SECONDS = 5
STS_ATTEMPTS = 2

if TYPE_CHECKING:
    from payments_infra.offline.graph import Graph

BINFMT_DIR = Path("/proc/sys/fs/binfmt_misc")
# payments:apiCpuArchitecture -> what `uname -m` says on such a machine, and QEMU's handler.
ARCHITECTURES = {"ARM64": ("aarch64", "qemu-aarch64"), "X86_64": ("x86_64", "qemu-x86_64")}
MACHINE_ALIASES = {"arm64": "aarch64", "amd64": "x86_64"}


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


def planned_graph(config: Mapping[str, str], stack: str) -> Graph:
    """The offline plan of this stack."""
    from payments_infra.offline.mocks import record_program  # noqa: PLC0415 (slow import

    return record_program(config, stack=stack)


def bucket_names(graph: Graph) -> list[str]:
    return sorted(str(b.inputs["bucket"]) for b in graph.of_type("aws:s3/bucket:Bucket"))


def planned_bucket_names(config: Mapping[str, str], stack: str) -> list[str]:
    """The S3 bucket names the offline plan of this stack holds."""
    return bucket_names(planned_graph(config, stack))


# Lambda refuses a reservation that leaves fewer unreserved (Lambda developer guide,
# "Configuring reserved concurrency").
LAMBDA_MIN_UNRESERVED = 100


def reserved_concurrency(graph: Graph) -> dict[str, int]:
    """Function name -> the concurrency the plan reserves for it."""
    return {
        str(f.inputs["name"]): int(f.inputs["reservedConcurrentExecutions"])
        for f in graph.of_type("aws:lambda/function:Function")
        if isinstance(f.inputs.get("reservedConcurrentExecutions"), int | float)
    }


def concurrency_problems(lambda_client: Any, reserved: Mapping[str, int]) -> list[str]:
    """What the plan reserves, less what this stack already holds, must leave 100."""
    from botocore.exceptions import ClientError  # noqa: PLC0415

    if not reserved:
        return []
    limit = lambda_client.get_account_settings()["AccountLimit"]
    unreserved = int(limit["UnreservedConcurrentExecutions"])
    more = 0
    for name, wanted in reserved.items():
        try:
            held = lambda_client.get_function_concurrency(FunctionName=name)
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") != "ResourceNotFoundException":
                raise
            held = {}
        more += max(wanted - int(held.get("ReservedConcurrentExecutions", 0)), 0)
    if unreserved - more >= LAMBDA_MIN_UNRESERVED:
        return []
    return [
        f"Lambda's unreserved concurrency in {REQUIRED_REGION} is {unreserved}, the stack "
        f"reserves {more} more ({', '.join(sorted(reserved))}) and Lambda keeps "
        f"{LAMBDA_MIN_UNRESERVED} unreserved: ask for a higher 'Concurrent executions' quota "
        "in Service Quotas (new accounts start low), then run again"
    ]


FREE, THIS_STACKS = "free", "this stack's"


def bucket_owners(s3: Any, names: list[str], stack: str) -> dict[str, str]:
    """Whose each bucket name is. HeadBucket: 404 free, 403 someone else's, 200 this
    account's (then the tags say whether it is this stack's)."""
    from botocore.exceptions import ClientError  # noqa: PLC0415

    owners = {}
    for name in names:
        try:
            s3.head_bucket(Bucket=name)
        except ClientError as error:
            status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
            owners[name] = (
                FREE if status == 404 else "another AWS account's" if status == 403 else str(status)
            )
            continue
        stacks = _is_this_stacks(s3, name, stack)
        owners[name] = THIS_STACKS if stacks else "in this account, but not this stack's"
    return owners


def taken_bucket_problems(owners: Mapping[str, str]) -> list[str]:
    taken = [
        f"{name} ({owner})" for name, owner in owners.items() if owner not in (FREE, THIS_STACKS)
    ]
    if not taken:
        return []
    return [
        f"S3 bucket names are global and these are taken: {', '.join(taken)}; choose another "
        "payments:environmentSuffix (it ends every bucket name) and run again"
    ]


def bucket_problems(s3: Any, names: list[str], stack: str) -> list[str]:
    return taken_bucket_problems(bucket_owners(s3, names, stack))


def _is_this_stacks(s3: Any, name: str, stack: str) -> bool:
    from botocore.exceptions import ClientError  # noqa: PLC0415

    try:
        tags = {t["Key"]: t["Value"] for t in s3.get_bucket_tagging(Bucket=name)["TagSet"]}
    except ClientError:
        return False
    return tags.get("Project") == PROJECT and tags.get("Stack") == stack


def aws_problems(sts: Any, account_id: str | None = None) -> list[str]:
    """Reach STS first, then ask who we are: two different failures, two different fixes.
    ``account_id`` (payments:accountId): the only account the stack may deploy into."""
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
    if account_id and identity["Account"] != account_id:
        return [
            f"these credentials are for AWS account {identity['Account']}, but the stack may "
            f"deploy only into {account_id} (payments:accountId): use that account's "
            "credentials (AWS_PROFILE), or fix the setting if the stack really moved"
        ]
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
    found += protected_data_problems(document, stack, command)
    backend = effective_backend(root, os.environ)
    if backend is not None:
        print(f"preflight: state backend {backend}")
    found += backend_problems(backend)
    if command == "up":
        found += dirty_tree_problems(document, os.environ, root)
        if builds_image(document):  # not with payments:apiImage or payments:apiImageTag
            found += docker_problems(document) or architecture_problems(document)
            found += base_image_problems(document)
        found += production_problems(read_stack_config(stack_file_path(root, stack)), stack)
    account_id = str((document.get("config") or {}).get("payments:accountId") or "") or None
    aws_found = aws_problems(aws_client("sts"), account_id)
    found += aws_found
    kms = None if aws_found else (lambda: aws_client("kms"))  # no look-up without AWS
    found += secrets_provider_problems(document, backend, os.environ, stack, kms)
    if not aws_found:
        found += s3_state_problems(backend, aws_client("s3"))
    if command == "up" and not aws_found:
        found += image_tag_problems(document, aws_client)
        found += _planned_problems(root, stack)
        found += creation_settings.problems(root, stack)  # nothing replaced by a setting
    return found


def _planned_problems(root: Path, stack: str) -> list[str]:
    """What the plan of the stack would run into in this account."""
    from botocore.exceptions import ClientError  # noqa: PLC0415

    from payments_infra.config.errors import ConfigError  # noqa: PLC0415

    try:
        config = read_stack_config(stack_file_path(root, stack))
        graph = planned_graph(config, stack)
        settings = StackConfig.from_mapping(config, project=PROJECT, stack=stack)
    except ConfigError as error:
        return [f"Pulumi.{stack}.yaml: {error}"]
    owners = bucket_owners(aws_client("s3"), bucket_names(graph), stack)
    found = taken_bucket_problems(owners)
    ours = [name for name, owner in owners.items() if owner == THIS_STACKS]
    found += missing_state_problems(stack, ours, effective_backend(root, os.environ), _run)
    try:
        found += concurrency_problems(aws_client("lambda"), reserved_concurrency(graph))
        found += zone_problems(
            aws_client("ec2"), aws_client("rds"), settings, interface_endpoint_services(graph)
        )
        if graph.of_type("aws:guardduty/detector:Detector"):
            clients = AccountControlClients(
                *(aws_client(s) for s in ("guardduty", "securityhub", "config", "cloudtrail"))
            )
            suffix = str(config.get("payments:environmentSuffix", ""))
            found += account_control_problems(clients, suffix, stack)
    except ClientError as error:
        code = error.response.get("Error", {}).get("Code", "unknown")
        found.append(
            f"AWS refused a look-up preflight needs ({error.operation_name}: {code}): allow "
            "the deploying identity to read Lambda, EC2 zones and endpoint services, RDS "
            "orderable instances, GuardDuty, Security Hub, Config and CloudTrail settings, "
            "then run again"
        )
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
