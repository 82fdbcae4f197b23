"""Checks before a real deploy, so ``make up`` fails in seconds with a sentence, not halfway.

    python -m payments_infra.offline.preflight --stack dev [--for up|verify|down]

``make up``, ``make verify`` and ``make down`` run this first. Each check returns the
problems it finds, one sentence each saying what is wrong and what to do; this module runs
them in order, and each lives in the module of its subject (named below):

- the stack name and its file ``Pulumi.<stack>.yaml`` (exists, valid YAML, no key set twice);
- the Pulumi CLI 3.x on PATH (``local_tools.py``);
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
  foreign one; ``local_tools.py``);
- for ``up`` only, when ``pulumi up`` builds the image: the base image that
  ``app/api/Dockerfile`` pins by digest exists on Docker Hub, and is a multi-arch index with an
  image for ``payments:apiCpuArchitecture`` (a wrong digest would fail every build;
  ``base_image.py``);
- AWS: reachable at all, then credentials that STS accepts (``aws_access.py``);
- for ``up`` only, with ``payments:apiImageTag`` (a rollback): the stack's ECR repository
  holds that image (``release.py``);
- for ``up`` only: every S3 bucket name the plan holds is free, or already this stack's.
  Bucket names are global: someone else's ``frontend-dev1`` would otherwise fail the deploy
  twenty minutes in, half built (``bucket_owners.py``);
- for ``up`` only: the Lambda concurrency the plan reserves leaves the 100 unreserved that
  AWS insists on (new accounts start with a quota too low to reserve any;
  ``lambda_concurrency.py``);
- for ``up`` only: the zones ``pulumi up`` will build in, worked out in this account the way
  the program does (``aws/provider.py``), each offer Aurora Serverless v2 and every interface
  endpoint the plan holds; a pinned zone the default ARM64 tasks cannot run in is named
  (``zone_offers.py``);
- for ``up`` only, with ``payments:accountControls``: the account has no GuardDuty detector,
  Security Hub, AWS Config recorder or delivery channel, or CloudTrail trail but this
  stack's. They are one per account, and often the organisation's
  (``account_controls_check.py``).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from payments_infra import PROJECT, REPO_ROOT
from payments_infra.config import StackConfig
from payments_infra.offline import creation_settings
from payments_infra.offline.account_controls_check import (
    AccountControlClients,
    account_control_problems,
)
from payments_infra.offline.aws_access import aws_client, aws_problems
from payments_infra.offline.base_image import base_image_problems
from payments_infra.offline.bucket_owners import (
    THIS_STACKS,
    bucket_names,
    bucket_owners,
    taken_bucket_problems,
)
from payments_infra.offline.commands import run as _run
from payments_infra.offline.lambda_concurrency import concurrency_problems, reserved_concurrency
from payments_infra.offline.local_tools import (
    architecture_problems,
    docker_problems,
    pulumi_cli_problems,
)
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

if TYPE_CHECKING:
    from payments_infra.offline.graph import Graph


def stack_problems(root: Path, stack: str) -> tuple[dict[str, Any], list[str]]:
    """The stack file's document, or the one problem that stops everything else."""
    try:
        return load_stack_document(stack_file_path(root, stack)), []
    except StackFileError as error:
        return {}, [str(error)]


def planned_graph(config: Mapping[str, str], stack: str) -> Graph:
    """The offline plan of this stack."""
    from payments_infra.offline.mocks import record_program  # noqa: PLC0415 (slow import

    return record_program(config, stack=stack)


def planned_bucket_names(config: Mapping[str, str], stack: str) -> list[str]:
    """The S3 bucket names the offline plan of this stack holds."""
    return bucket_names(planned_graph(config, stack))


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
