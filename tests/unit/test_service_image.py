"""The API's image, read from the recorded graph of the real program: built from app/api into
an immutable, scanned, encrypted ECR repository under a tag that changes with the platform and
the base image; or a prebuilt image, pulled from its own repository, refused where the tasks
could not pull it."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from payments_infra import REPO_ROOT
from payments_infra.components.api.image import ecr_repository_arn_of, source_tag
from payments_infra.config.errors import ConfigError
from payments_infra.offline.graph import Graph
from payments_infra.offline.mocks import PlaceholderMocks, RecordingMonitor, record_program
from tests.api_task_queries import container, statements
from tests.graph_queries import named, only
from tests.stacks import SUFFIX, VALID_CONFIG


def test_image_is_built_from_app_api_into_an_immutable_scanned_repository(graph: Graph) -> None:
    repository = only(graph, "aws:ecr/repository:Repository").inputs
    assert repository["imageTagMutability"] == "IMMUTABLE"
    assert repository["imageScanningConfiguration"] == {"scanOnPush": True}
    ecr_key = named(graph, "aws:kms/key:Key", f"ecr-key-{SUFFIX}")
    assert repository["encryptionConfigurations"] == [
        {"encryptionType": "KMS", "kmsKey": ecr_key.outputs["arn"]}
    ]
    assert repository["forceDelete"] is True
    lifecycle = json.loads(only(graph, "aws:ecr/lifecyclePolicy:LifecyclePolicy").inputs["policy"])
    assert lifecycle["rules"][0]["selection"]["countNumber"] == 20
    build = only(graph, "docker-build:index:Image").inputs
    assert build["context"]["location"].endswith("app/api")
    assert build["platforms"] == ["linux/arm64"] and build["push"] is True
    assert build["tags"][0].endswith(f":{source_tag('ARM64')}")
    assert build["tags"][0].endswith("-arm64")
    assert container(graph)["image"].startswith(build["tags"][0] + "@sha256:")


def test_the_image_tag_changes_with_the_platform_and_the_base_image(tmp_path: Path) -> None:
    """The repository's tags are immutable: a rebuild for another platform or on another
    base must push a new tag, or ECR refuses the push."""
    source = tmp_path / "api"
    shutil.copytree(REPO_ROOT / "app" / "api", source, ignore=shutil.ignore_patterns("tests"))
    arm, x86 = source_tag("ARM64", source), source_tag("X86_64", source)
    assert arm != x86 and x86.endswith("-x86-64")
    dockerfile = source / "Dockerfile"
    text = dockerfile.read_text()
    old_base = next(line for line in text.splitlines() if line.startswith("ARG BASE_IMAGE="))
    dockerfile.write_text(
        text.replace(old_base, f"ARG BASE_IMAGE=python:3.12-slim@sha256:{'1' * 64}")
    )
    assert source_tag("ARM64", source) != arm
    dockerfile.write_text(text)
    (source / "payments_api" / "__pycache__").mkdir(exist_ok=True)
    (source / "payments_api" / "__pycache__" / "x.pyc").write_bytes(b"cache")
    assert source_tag("ARM64", source) == arm  # caches are not image inputs


def test_a_prebuilt_ecr_image_needs_no_build_and_is_pulled_from_its_own_repository() -> None:
    image = "210987654321.dkr.ecr.us-east-1.amazonaws.com/team/payments-api:1.4.2"
    graph = record_program({**VALID_CONFIG, "payments:apiImage": image}, stack="test")
    assert graph.of_type("aws:ecr/repository:Repository") == []
    assert graph.of_type("docker-build:index:Image") == []
    assert container(graph)["image"] == image
    found = statements(graph, f"ecs-task-execution-policy-{SUFFIX}")
    assert found["PullApiImage"]["Resource"] == [
        "arn:aws:ecr:us-east-1:210987654321:repository/team/payments-api"
    ]


def test_a_prebuilt_image_outside_ecr_gets_no_ecr_permissions() -> None:
    """Only without the endpoints: then the tasks reach any registry through the NAT."""
    graph = record_program(
        {
            **VALID_CONFIG,
            "payments:apiImage": "ghcr.io/acme/payments-api:1.0",
            "payments:vpcEndpoints": "false",
        },
        stack="test",
    )
    found = statements(graph, f"ecs-task-execution-policy-{SUFFIX}")
    assert "PullApiImage" not in found and "AuthenticateToEcr" not in found


@pytest.mark.parametrize(
    "image",
    [
        "ghcr.io/acme/payments-api:1.0",
        "public.ecr.aws/acme/payments-api:1.0",
        "123456789012.dkr.ecr.eu-west-1.amazonaws.com/payments-api:1.0",
        "123456789012.dkr.ecr.us-east-1.amazonaws.com.example.com/payments-api:1.0",
    ],
)
def test_an_image_the_tasks_could_not_pull_is_refused_while_the_endpoints_are_on(
    image: str,
) -> None:
    monitor = RecordingMonitor(PlaceholderMocks())
    with pytest.raises(ConfigError) as raised:
        record_program({**VALID_CONFIG, "payments:apiImage": image}, monitor=monitor)
    assert monitor.recorded == []  # refused before any resource exists
    (problem,) = raised.value.problems
    assert problem.startswith("payments:apiImage must be in a private ECR registry of us-east-1")
    assert f'got "{image}"' in problem
    assert problem.endswith("or set payments:vpcEndpoints to false")


def test_any_accounts_ecr_in_this_region_is_accepted_with_the_endpoints_on() -> None:
    image = f"210987654321.dkr.ecr.us-east-1.amazonaws.com/payments-api@sha256:{'c' * 64}"
    graph = record_program({**VALID_CONFIG, "payments:apiImage": image}, stack="test")
    assert container(graph)["image"] == image


@pytest.mark.parametrize(
    ("image", "arn"),
    [
        ("1.dkr.ecr.us-east-1.amazonaws.com/api:1", "arn:aws:ecr:us-east-1:1:repository/api"),
        (
            "2.dkr.ecr.eu-west-1.amazonaws.com/a/b@sha256:" + "0" * 64,
            "arn:aws:ecr:eu-west-1:2:repository/a/b",
        ),
        ("docker.io/library/python:3.12", None),
        ("localhost:5000/api:1", None),
    ],
)
def test_ecr_repository_arn_of_an_image(image: str, arn: str | None) -> None:
    assert ecr_repository_arn_of(image) == arn
