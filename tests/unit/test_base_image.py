"""The API image's base (base_image.py): the Dockerfile's pinned digest resolved on a registry
that plays Docker Hub (token endpoint and manifest endpoint) on 127.0.0.1."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from payments_infra import REPO_ROOT
from payments_infra.offline import base_image

TOKEN = "anonymous-pull-token"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
BASE = base_image.dockerfile_base_image() or ""
assert BASE, "app/api/Dockerfile lost its ARG BASE_IMAGE= line"
DIGEST = BASE.partition("@")[2]
MANIFEST_PATH = f"/v2/library/python/manifests/{DIGEST}"
# The Official Image's index: one image per platform, and an attestation for each.
BOTH = [("linux", "amd64"), ("unknown", "unknown"), ("linux", "arm64"), ("unknown", "unknown")]


def index(platforms: list[tuple[str, str]]) -> bytes:
    return json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": OCI_INDEX,
            "manifests": [
                {
                    "mediaType": OCI_MANIFEST,
                    "digest": f"sha256:{n:064x}",
                    "size": 1000,
                    "platform": {"os": os_name, "architecture": architecture},
                }
                for n, (os_name, architecture) in enumerate(platforms)
            ],
        }
    ).encode()


class FakeRegistry:
    """Docker Hub's token endpoint and registry, played by a local HTTP server."""

    def __init__(self) -> None:
        self.url = ""
        # path -> (status, body, content type); anything else is 404 MANIFEST_UNKNOWN.
        self.answers: dict[str, tuple[int, bytes, str]] = {}
        self.requests: list[tuple[str, dict[str, str]]] = []

    def handler(self) -> type[BaseHTTPRequestHandler]:
        registry = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                registry.requests.append((self.path, dict(self.headers.items())))
                path = urlsplit(self.path).path
                if path in registry.answers:
                    self.answer(*registry.answers[path])
                elif path == "/token":
                    self.answer(200, json.dumps({"token": TOKEN}).encode(), "application/json")
                elif self.headers.get("Authorization") != f"Bearer {TOKEN}":
                    self.answer(401, b'{"errors": [{"code": "UNAUTHORIZED"}]}', "application/json")
                else:
                    self.answer(
                        404, b'{"errors": [{"code": "MANIFEST_UNKNOWN"}]}', "application/json"
                    )

            def answer(self, status: int, body: bytes, content_type: str) -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return Handler

    def check(self, architecture: str = "ARM64", dockerfile: Path | None = None) -> list[str]:
        document = {"config": {"payments:apiCpuArchitecture": architecture}}
        return base_image.base_image_problems(
            document,
            dockerfile=dockerfile or base_image.DOCKERFILE,
            registry=self.url,
            auth=f"{self.url}/token",
            timeout=5,
        )


@pytest.fixture
def registry(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeRegistry]:
    for proxy in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy"):
        monkeypatch.delenv(proxy, raising=False)  # 127.0.0.1 directly, never through a proxy
    fake = FakeRegistry()
    server = ThreadingHTTPServer(("127.0.0.1", 0), fake.handler())  # listening once made
    # A short poll interval: shutdown() waits for the loop to notice, up to one interval.
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    fake.url = f"http://127.0.0.1:{server.server_address[1]}"
    yield fake
    server.shutdown()  # returns once serve_forever has stopped
    thread.join()
    server.server_close()


def test_the_base_image_is_read_from_the_dockerfile_as_build_image_sh_reads_it() -> None:
    script = REPO_ROOT / "app" / "api" / "docker" / "build-image.sh"
    assert "sed -n 's/^ARG BASE_IMAGE=//p'" in script.read_text()
    assert BASE.startswith("python:3.12")
    image = base_image.docker_hub_reference(BASE)
    assert image is not None
    assert (image.repository, image.digest) == ("library/python", DIGEST)
    assert image.name_and_tag == BASE.partition("@")[0]


@pytest.mark.parametrize(
    ("reference", "repository"),
    [
        ("python:3.12-slim@sha256:" + "a" * 64, "library/python"),
        ("docker.io/library/python:3.12@sha256:" + "a" * 64, "library/python"),
        ("bitnami/python@sha256:" + "a" * 64, "bitnami/python"),
        ("public.ecr.aws/docker/library/python:3.12@sha256:" + "a" * 64, None),
        ("localhost:5000/python:3.12@sha256:" + "a" * 64, None),
        ("python:3.12-slim", None),  # no digest: nothing pinned to check
    ],
)
def test_only_docker_hub_references_pinned_by_digest_are_resolved(
    reference: str, repository: str | None
) -> None:
    image = base_image.docker_hub_reference(reference)
    assert (image.repository if image else None) == repository


@pytest.mark.parametrize("architecture", ["ARM64", "X86_64"])
def test_a_pinned_index_with_the_tasks_cpu_passes(
    registry: FakeRegistry, architecture: str
) -> None:
    registry.answers[MANIFEST_PATH] = (200, index(BOTH), OCI_INDEX)
    assert registry.check(architecture) == []
    (token_path, _), (manifest_path, headers) = registry.requests
    token_query = parse_qs(urlsplit(token_path).query)
    assert token_query == {
        "service": ["registry.docker.io"],
        "scope": ["repository:library/python:pull"],
    }
    assert manifest_path == MANIFEST_PATH
    assert headers["Authorization"] == f"Bearer {TOKEN}"
    accepted = [t.strip() for t in headers["Accept"].split(",")]
    assert {OCI_INDEX, "application/vnd.docker.distribution.manifest.list.v2+json"} <= set(accepted)


def test_a_digest_docker_hub_does_not_have_is_one_sentence(registry: FakeRegistry) -> None:
    tag = BASE.partition("@")[0]
    assert registry.check() == [
        f"app/api/Dockerfile pins the base image {BASE}, but Docker Hub has no manifest with "
        "that digest (404), so every build of the API image would fail: take the index digest "
        f"from the Digest: line of `docker buildx imagetools inspect {tag}`, set it with its "
        "tag in the ARG BASE_IMAGE= line, run `make image` and the tests, then run again"
    ]


def test_an_unreachable_registry_says_it_cannot_verify_and_how_to_check_by_hand() -> None:
    # A port bound but not listening: the connection is refused at once.
    with socket.socket() as reserved:
        reserved.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{reserved.getsockname()[1]}"
        [problem] = base_image.base_image_problems(
            {"config": {}}, registry=url, auth=f"{url}/token", timeout=5
        )
    assert problem.startswith(
        f"cannot verify the base image {BASE} that app/api/Dockerfile pins, as Docker Hub did "
        "not answer (127.0.0.1:"
    )
    assert problem.endswith(
        f"check it by hand with `docker buildx imagetools inspect {BASE}` (it must show that "
        "Digest: and a Platform: linux/arm64 line), then run again where Docker Hub answers, "
        "or set payments:apiImage to a pushed image"
    )


@pytest.mark.parametrize(
    ("path", "status", "why"),
    [
        ("/token", 503, "no pull token from"),
        (MANIFEST_PATH, 429, "HTTP 429 for the manifest"),  # Docker Hub's pull rate limit
    ],
)
def test_a_registry_that_refuses_to_answer_cannot_verify_either(
    registry: FakeRegistry, path: str, status: int, why: str
) -> None:
    registry.answers[path] = (status, b'{"errors": []}', "application/json")
    [problem] = registry.check()
    assert problem.startswith("cannot verify the base image") and why in problem


def test_an_index_without_the_tasks_cpu_names_what_it_has(registry: FakeRegistry) -> None:
    registry.answers[MANIFEST_PATH] = (
        200,
        index([("linux", "amd64"), ("unknown", "unknown")]),
        OCI_INDEX,
    )
    tag = BASE.partition("@")[0]
    assert registry.check("ARM64") == [
        f"app/api/Dockerfile pins the base image {BASE}, whose index has no linux/arm64 image "
        "(only linux/amd64), so the build for payments:apiCpuArchitecture ARM64 would fail: "
        "pin a tag and digest whose index has linux/arm64 (`docker buildx imagetools inspect "
        f"{tag}` lists the platforms), or set payments:apiImage to a prebuilt image"
    ]
    assert registry.check("X86_64") == []


def test_a_single_platform_digest_is_not_the_index_the_dockerfile_expects(
    registry: FakeRegistry,
) -> None:
    manifest = {"schemaVersion": 2, "mediaType": OCI_MANIFEST, "config": {}, "layers": []}
    registry.answers[MANIFEST_PATH] = (200, json.dumps(manifest).encode(), OCI_MANIFEST)
    [problem] = registry.check()
    assert "a single-platform image rather than the multi-arch index" in problem


def test_the_reference_comes_from_the_dockerfile_given(
    registry: FakeRegistry, tmp_path: Path
) -> None:
    digest = "sha256:" + "b" * 64
    dockerfile = tmp_path / "Dockerfile"
    dockerfile.write_text(
        f"# base\nARG BASE_IMAGE=python:3.13-slim@{digest}\nFROM ${{BASE_IMAGE}}\n"
    )
    registry.answers[f"/v2/library/python/manifests/{digest}"] = (200, index(BOTH), OCI_INDEX)
    assert registry.check(dockerfile=dockerfile) == []
    dockerfile.write_text("FROM python:3.13-slim\n")
    [problem] = registry.check(dockerfile=dockerfile)
    assert problem.startswith(f"{dockerfile} has no ARG BASE_IMAGE= line")


def test_no_registry_look_up_with_a_prebuilt_image(registry: FakeRegistry) -> None:
    document = {"config": {"payments:apiImage": "123456789012.dkr.ecr.us-east-1.amazonaws.com/a:1"}}
    assert base_image.base_image_problems(document, registry=registry.url, auth=registry.url) == []
    assert registry.requests == []
