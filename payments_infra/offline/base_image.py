"""Preflight of `make up`: the base image app/api/Dockerfile pins exists, for the platform.

A wrong digest fails every build of the API image; this resolves it before a build starts.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from payments_infra import REPO_ROOT

if TYPE_CHECKING:
    pass


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
