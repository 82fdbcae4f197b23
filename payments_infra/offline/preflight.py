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
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from payments_infra import REPO_ROOT
from payments_infra.aws.naming import physical_name
from payments_infra.config import AZ_COUNT, REQUIRED_REGION, StackConfig
from payments_infra.offline import creation_settings
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

# An offline machine should hear "cannot reach AWS" in seconds, not after minutes of retries.
STS_CONNECT_TIMEOUT_SECONDS = 5
STS_ATTEMPTS = 2

if TYPE_CHECKING:
    from payments_infra.aws.provider import Zone
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


# The API image's base: read from the Dockerfile (its `ARG BASE_IMAGE=` line, as
# app/api/docker/build-image.sh reads it), resolved on Docker Hub with the registry API and an
# anonymous pull token (docs.docker.com/reference/api/registry/auth). Python's own HTTP rather
# than `docker buildx imagetools inspect`: no buildx needed (build-image.sh builds without it),
# a 404 and an unreachable registry stay two different answers instead of one exit status and
# a stderr to parse, and the tests can play the registry on 127.0.0.1. One GET of the index,
# which Docker Hub counts as one pull of the anonymous limit; the build pulls it anyway.
DOCKERFILE = REPO_ROOT / "app" / "api" / "Dockerfile"
DOCKER_HUB_REGISTRY = "https://registry-1.docker.io"
DOCKER_HUB_AUTH = "https://auth.docker.io/token"
DOCKER_HUB_SERVICE = "registry.docker.io"
DOCKER_HUB_NAMES = ("docker.io", "index.docker.io", "registry-1.docker.io")
REGISTRY_TIMEOUT_SECONDS = 10
INDEX_TYPES = (
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
)
MANIFEST_TYPES = (
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.v2+json",
)
# payments:apiCpuArchitecture -> the OCI platform architecture the image needs.
OCI_ARCHITECTURES = {"ARM64": "arm64", "X86_64": "amd64"}


def dockerfile_base_image(dockerfile: Path = DOCKERFILE) -> str | None:
    """The default of ``ARG BASE_IMAGE=``: the first such line, as build-image.sh reads it."""
    for line in dockerfile.read_text().splitlines():
        if line.startswith("ARG BASE_IMAGE="):
            return line.removeprefix("ARG BASE_IMAGE=").strip() or None
    return None


@dataclass(frozen=True)
class HubReference:
    """An image on Docker Hub: ``library/python``, ``python:3.12.15-slim-bookworm``, a digest."""

    repository: str
    name_and_tag: str
    digest: str


def docker_hub_reference(reference: str) -> HubReference | None:
    """The Docker Hub image a reference pinned by digest names; None for another registry,
    or a reference without a digest (nothing fixed to check)."""
    name, _, digest = reference.partition("@")
    first, _, rest = name.partition("/")
    if rest and ("." in first or ":" in first or first == "localhost"):
        if first not in DOCKER_HUB_NAMES:
            return None
        name = rest
    if not digest.startswith("sha256:"):
        return None
    last = name.rsplit("/", 1)[-1]
    repository = name.rsplit(":", 1)[0] if ":" in last else name
    if "/" not in repository:
        repository = f"library/{repository}"
    return HubReference(repository, name.removeprefix("library/"), digest)


class RegistryUnansweredError(Exception):
    """The registry could not be asked, or gave no usable answer; the message says how."""


def _registry_get(url: str, headers: Mapping[str, str], timeout: float) -> tuple[int, bytes, str]:
    """Status, body and content type of a GET; RegistryUnansweredError when nothing came back."""
    request = urllib.request.Request(url, headers=dict(headers))
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.read(), response.headers.get_content_type()
    except urllib.error.HTTPError as error:
        return error.code, error.read(), error.headers.get_content_type()
    except (urllib.error.URLError, OSError) as error:
        reason = getattr(error, "reason", error)
        raise RegistryUnansweredError(f"{urllib.parse.urlsplit(url).netloc}: {reason}") from None


def fetch_index(
    image: HubReference, registry: str, auth: str, timeout: float
) -> tuple[int, dict[str, Any]]:
    """The manifest of ``image.digest``: (200, the manifest) or (404, {})."""
    query = urllib.parse.urlencode(
        {"service": DOCKER_HUB_SERVICE, "scope": f"repository:{image.repository}:pull"}
    )
    status, body, _ = _registry_get(f"{auth}?{query}", {}, timeout)
    try:
        answer = json.loads(body) if status == 200 else {}
    except ValueError:
        answer = {}
    token = answer.get("token") or answer.get("access_token")
    if not token:
        raise RegistryUnansweredError(f"no pull token from {auth} (HTTP {status})")
    url = f"{registry}/v2/{image.repository}/manifests/{image.digest}"
    accept = ", ".join((*INDEX_TYPES, *MANIFEST_TYPES))
    status, body, content_type = _registry_get(
        url, {"Authorization": f"Bearer {token}", "Accept": accept}, timeout
    )
    if status == 404:
        return 404, {}
    if status != 200:
        raise RegistryUnansweredError(f"HTTP {status} for the manifest")
    try:
        manifest = json.loads(body)
    except ValueError:
        raise RegistryUnansweredError("the manifest is not JSON") from None
    if not isinstance(manifest, dict):
        raise RegistryUnansweredError("the manifest is not a JSON object")
    manifest.setdefault("mediaType", content_type)
    return 200, manifest


def base_image_problems(
    document: Mapping[str, Any],
    dockerfile: Path = DOCKERFILE,
    registry: str = DOCKER_HUB_REGISTRY,
    auth: str = DOCKER_HUB_AUTH,
    timeout: float = REGISTRY_TIMEOUT_SECONDS,
) -> list[str]:
    """Without payments:apiImage, `pulumi up` builds FROM the Dockerfile's pinned base image:
    it must exist, and hold an image for the tasks' CPU."""
    config = document.get("config") or {}
    if config.get("payments:apiImage"):
        return []
    where = (
        dockerfile.relative_to(REPO_ROOT) if dockerfile.is_relative_to(REPO_ROOT) else dockerfile
    )
    reference = dockerfile_base_image(dockerfile)
    if reference is None:
        return [
            f"{where} has no ARG BASE_IMAGE= line naming the base image, so `pulumi up` could "
            "not build the API image: restore it (python:3.12.N-slim-bookworm pinned by its "
            "index digest), or set payments:apiImage to a pushed image"
        ]
    image = docker_hub_reference(reference)
    if image is None:
        return []  # another registry, or no digest: nothing this check can resolve
    architecture = str(config.get("payments:apiCpuArchitecture") or "ARM64")
    try:
        status, manifest = fetch_index(image, registry, auth, timeout)
    except RegistryUnansweredError as error:
        platform = OCI_ARCHITECTURES.get(architecture, "arm64")
        return [
            f"cannot verify the base image {reference} that {where} pins, as Docker Hub did "
            f"not answer ({error}): check it by hand with `docker buildx imagetools inspect "
            f"{reference}` (it must show that Digest: and a Platform: linux/{platform} line), "
            "then run again where Docker Hub answers, or set payments:apiImage to a pushed image"
        ]
    inspect = f"`docker buildx imagetools inspect {image.name_and_tag}`"
    if status == 404:
        return [
            f"{where} pins the base image {reference}, but Docker Hub has no manifest with "
            f"that digest (404), so every build of the API image would fail: take the index "
            f"digest from the Digest: line of {inspect}, set it with its tag in the ARG "
            "BASE_IMAGE= line, run `make image` and the tests, then run again"
        ]
    return _platform_problems(architecture, where, reference, manifest, inspect)


def _platform_problems(
    architecture: str,
    where: Path,
    reference: str,
    manifest: Mapping[str, Any],
    inspect: str,
) -> list[str]:
    """The index must list a linux image for the tasks' CPU (attestations list unknown/unknown)."""
    wanted = OCI_ARCHITECTURES.get(architecture)
    if wanted is None:
        return []  # the config's own validation names it
    listed = manifest.get("manifests")
    if not isinstance(listed, list) or manifest.get("mediaType") in MANIFEST_TYPES:
        return [
            f"{where} pins the base image {reference}, a single-platform image rather than "
            "the multi-arch index the Dockerfile expects, so preflight cannot tell it holds "
            f"linux/{wanted} for payments:apiCpuArchitecture {architecture}: pin the index "
            f"digest, the Digest: line of {inspect}, then run again"
        ]
    platforms = sorted(
        {
            f"{p.get('os')}/{p.get('architecture')}"
            for m in listed
            if isinstance(m, dict)
            and isinstance(p := m.get("platform"), dict)
            and p.get("os") != "unknown"
        }
    )
    if f"linux/{wanted}" in platforms:
        return []
    return [
        f"{where} pins the base image {reference}, whose index has no linux/{wanted} image "
        f"(only {', '.join(platforms) or 'none'}), so the build for "
        f"payments:apiCpuArchitecture {architecture} would fail: pin a tag and digest whose "
        f"index has linux/{wanted} ({inspect} lists the platforms), or set "
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


# The zones `pulumi up` will build in are this account's, not the offline plan's (its mocks
# answer the zone look-up with placeholders): ask EC2, and choose as aws/provider.py does.
ZONE_FILTERS = [{"Name": "opt-in-status", "Values": ["opt-in-not-required"]}]
DB_INSTANCE_CLASS = "db.serverless"  # Aurora Serverless v2, the writer's and the reader's


def _label(zones: Sequence[Zone]) -> str:
    return ", ".join(f"{z.name} ({z.zone_id})" for z in zones)


def planned_zones(ec2: Any, pinned: Sequence[str] | None) -> tuple[list[Zone], list[str]]:
    """The zones this account gives the stack, the way resolve_zones chooses them, or the
    problem that stops the program before it chooses any."""
    from payments_infra.aws.provider import Zone, choose_zones  # noqa: PLC0415 (pulumi_aws)

    filters = (
        ZONE_FILTERS
        if pinned is not None
        else [
            *ZONE_FILTERS,
            {"Name": "state", "Values": ["available"]},
        ]
    )
    listed = ec2.describe_availability_zones(Filters=filters)["AvailabilityZones"]
    zone_ids = {z["ZoneName"]: z["ZoneId"] for z in listed}
    if pinned is not None:
        unknown = [z for z in pinned if z not in zone_ids]
        if unknown:
            return [], [
                f"payments:availabilityZones names {', '.join(unknown)}, which this account "
                f"does not have in {REQUIRED_REGION} (it has {', '.join(sorted(zone_ids))}): "
                "pin zones from that list, then run again"
            ]
        return [Zone(z, zone_ids[z]) for z in pinned], []
    zones = choose_zones(list(zone_ids), list(zone_ids.values()))
    if len(zones) < AZ_COUNT:
        return [], [
            f"this account has only {_label(zones) or 'no zones'} available in "
            f"{REQUIRED_REGION} outside the limited zone IDs: pin three zones with "
            "payments:availabilityZones, then run again"
        ]
    return zones, []


def pinned_zone_problems(zones: Sequence[Zone], architecture: str) -> list[str]:
    """A pinned zone is used as given: name the one whose documented limit the stack hits."""
    from payments_infra.aws.provider import LIMITED_ZONE_IDS  # noqa: PLC0415 (pulumi_aws)

    limited = [z for z in zones if z.zone_id in LIMITED_ZONE_IDS]
    if architecture != "ARM64" or not limited:
        return []
    return [
        f"payments:availabilityZones pins {_label(limited)}, and "
        f"{LIMITED_ZONE_IDS[limited[0].zone_id]}, while payments:apiCpuArchitecture is ARM64: "
        "pin another zone (aws ec2 describe-availability-zones shows each zone's ID), remove "
        "the setting so the stack chooses, or set payments:apiCpuArchitecture to X86_64"
    ]


def serverless_problems(rds: Any, zones: Sequence[Zone], engine_version: str) -> list[str]:
    """Aurora Serverless v2 of the configured version must be orderable in each zone.

    All three, though the writer and the reader take the first two (components/database.py):
    the database's subnets span all three, and a zone without it is one to keep out anyway.
    """
    exact = "." in engine_version
    query = {"Engine": "aurora-postgresql", "DBInstanceClass": DB_INSTANCE_CLASS}
    if exact:
        query["EngineVersion"] = engine_version
    offered: set[str] = set()
    for page in rds.get_paginator("describe_orderable_db_instance_options").paginate(**query):
        for option in page["OrderableDBInstanceOptions"]:
            if exact or str(option.get("EngineVersion", "")).split(".")[0] == engine_version:
                offered |= {az["Name"] for az in option.get("AvailabilityZones", [])}
    missing = [z for z in zones if z.name not in offered]
    if not missing:
        return []
    return [
        f"Aurora PostgreSQL {engine_version} Serverless v2 ({DB_INSTANCE_CLASS}) is not "
        f"offered in {_label(missing)} in this account (RDS DescribeOrderableDBInstanceOptions): "
        "pin payments:availabilityZones to three zones that offer it, or choose another "
        "payments:dbEngineVersion, then run again"
    ]


def interface_endpoint_services(graph: Graph) -> list[str]:
    """The endpoint services of the plan's interface endpoints (none without vpcEndpoints)."""
    return sorted(
        str(e.inputs["serviceName"])
        for e in graph.of_type("aws:ec2/vpcEndpoint:VpcEndpoint")
        if e.inputs.get("vpcEndpointType") == "Interface"
    )


def endpoint_problems(ec2: Any, zones: Sequence[Zone], services: Sequence[str]) -> list[str]:
    """Each interface endpoint puts a network interface in every zone: each must offer it."""
    if not services:
        return []
    offered: dict[str, set[str]] = {}
    pages = ec2.get_paginator("describe_vpc_endpoint_services").paginate(
        ServiceNames=list(services)
    )
    for page in pages:
        for detail in page["ServiceDetails"]:
            offered[detail["ServiceName"]] = set(detail.get("AvailabilityZones", []))
    gaps = [
        f"{service} in {_label([z])}"
        for service in services
        for z in zones
        if z.name not in offered.get(service, set())
    ]
    if not gaps:
        return []
    return [
        f"these VPC interface endpoints are not offered in the stack's zones: "
        f"{', '.join(gaps)} (EC2 DescribeVpcEndpointServices): pin payments:availabilityZones "
        "to three zones that offer them, or set payments:vpcEndpoints to false, then run again"
    ]


def zone_problems(
    ec2: Any, rds: Any, config: StackConfig, endpoint_services: Sequence[str]
) -> list[str]:
    """What the zones `pulumi up` will choose in this account lack that the stack needs."""
    zones, found = planned_zones(ec2, config.availability_zones)
    if found:
        return found
    if config.availability_zones is not None:
        found += pinned_zone_problems(zones, str(config.service.cpu_architecture))
    found += serverless_problems(rds, zones, config.database.engine_version)
    found += endpoint_problems(ec2, zones, endpoint_services)
    return found


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
