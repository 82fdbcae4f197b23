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
  twenty minutes in, half built;
- for ``up`` only: the Lambda concurrency the plan reserves leaves the 100 unreserved that
  AWS insists on (new accounts start with a quota too low to reserve any);
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
import subprocess
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from payments_infra import REPO_ROOT
from payments_infra.aws.naming import physical_name
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

if TYPE_CHECKING:
    from payments_infra.offline.graph import Graph

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


@dataclass(frozen=True)
class AccountControlClients:
    """The four services whose one-per-account controls payments:accountControls creates."""

    guardduty: Any
    securityhub: Any
    config: Any
    cloudtrail: Any


def account_control_problems(clients: AccountControlClients, suffix: str, stack: str) -> list[str]:
    """payments:accountControls would create what the account may have already: say which.

    The stack's own (a second ``make up``) are recognised by their names, or, for the
    GuardDuty detector, by its Project and Stack tags. Security Hub has neither a name nor
    tags to tell: an enabled hub counts as this stack's when another of its controls exists.
    """
    found: list[str] = []
    ours = False
    guardduty = clients.guardduty
    for detector_id in guardduty.list_detectors()["DetectorIds"]:
        tags = guardduty.get_detector(DetectorId=detector_id).get("Tags") or {}
        if tags.get("Project") == PROJECT and tags.get("Stack") == stack:
            ours = True
        else:
            found.append(f"a GuardDuty detector ({detector_id})")
    config = clients.config
    for kind, listed, key, own in (
        (
            "recorder",
            config.describe_configuration_recorders()["ConfigurationRecorders"],
            "name",
            physical_name("config_recorder", suffix),
        ),
        (
            "delivery channel",
            config.describe_delivery_channels()["DeliveryChannels"],
            "name",
            physical_name("config_delivery_channel", suffix),
        ),
    ):
        for item in listed:
            if item[key] == own:
                ours = True
            else:
                found.append(f"an AWS Config {kind} ({item[key]})")
    own_trail = physical_name("cloudtrail_trail", suffix)
    for trail in clients.cloudtrail.describe_trails(includeShadowTrails=True)["trailList"]:
        if trail["Name"] == own_trail and trail.get("HomeRegion") == REQUIRED_REGION:
            ours = True
        else:
            found.append(f"a CloudTrail trail ({trail['Name']})")
    if _security_hub_enabled(clients.securityhub) and not ours:
        found.append("Security Hub")
    if not found:
        return []
    return [
        f"payments:accountControls is true, but this account already has {', '.join(found)} "
        f"in {REQUIRED_REGION}: these are one per account (often the organisation's), so set "
        "payments:accountControls to false to rely on them, or remove them, then run again"
    ]


def _security_hub_enabled(securityhub: Any) -> bool:
    from botocore.exceptions import ClientError  # noqa: PLC0415

    try:
        securityhub.describe_hub()
    except ClientError as error:
        # What Security Hub answers an account that has not enabled it.
        if error.response.get("Error", {}).get("Code") in (
            "InvalidAccessException",
            "ResourceNotFoundException",
        ):
            return False
        raise
    return True


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
        found += _planned_problems(root, stack)
    return found


def _planned_problems(root: Path, stack: str) -> list[str]:
    """What the plan of the stack would run into in this account."""
    from botocore.exceptions import ClientError  # noqa: PLC0415

    from payments_infra.config.errors import ConfigError  # noqa: PLC0415

    try:
        config = read_stack_config(stack_file_path(root, stack))
        graph = planned_graph(config, stack)
    except ConfigError as error:
        return [f"Pulumi.{stack}.yaml: {error}"]
    found = bucket_problems(aws_client("s3"), bucket_names(graph), stack)
    try:
        found += concurrency_problems(aws_client("lambda"), reserved_concurrency(graph))
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
            "the deploying identity to read Lambda, GuardDuty, Security Hub, Config and "
            "CloudTrail settings, then run again"
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
