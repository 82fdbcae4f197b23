"""Rolling back to an earlier image of the stack's own repository (payments:apiImageTag): the
repository, its key and lifecycle rule stay exactly as they are, nothing is built, the tasks
run that image; and the build and the task definition revisions survive what a rollback does
to them. Read from the recorded graph of the real program."""

from __future__ import annotations

import json
from typing import Any

import pytest

from payments_infra.components.api.image import source_tag
from payments_infra.config import StackConfig
from payments_infra.config.errors import ConfigError
from payments_infra.offline import checks
from payments_infra.offline.checks_conventions import check_destroyable
from payments_infra.offline.graph import Graph, Resource
from payments_infra.offline.mocks import PlaceholderMocks, RecordingMonitor, record_program
from tests.graph_queries import named, only, task_container
from tests.stacks import PREBUILT_IMAGE, SUFFIX, VALID_CONFIG, ZONES

BUILD = "docker-build:index:Image"
REPOSITORY = "aws:ecr/repository:Repository"
TASK = "aws:ecs/taskDefinition:TaskDefinition"
COMPONENT = "payments:api:ApiImage"
TAG = "src-0123456789abcdef-0123456789ab-arm64"
DIGEST = f"sha256:{'ab' * 32}"


def rolled_back(tag_or_digest: str, **more: str) -> dict[str, str]:
    return {**VALID_CONFIG, "payments:apiImageTag": tag_or_digest, **more}


@pytest.fixture(scope="module")
def rollback_graph() -> Graph:
    return record_program(rolled_back(TAG), stack="test")


# The API's task definition, and the one-off tasks' (one_off_tasks.py): all run the one image.
FAMILIES = (f"api-{SUFFIX}", f"migrations-{SUFFIX}", f"api-keys-{SUFFIX}")


def container(graph: Graph) -> dict[str, Any]:
    """The API service's container."""
    return task_container(graph, f"api-{SUFFIX}")


def images(graph: Graph) -> dict[str, str]:
    """Family -> the image its container runs."""
    return {family: task_container(graph, family)["image"] for family in FAMILIES}


def image_component(graph: Graph) -> dict[str, Resource]:
    """The image component's resources (everything under it in the URN), by URN."""
    return {r.urn: r for r in graph if COMPONENT in r.urn and r.custom}


def test_rolling_back_keeps_the_repository_its_key_and_rule_exactly_as_they_are(
    recorded_graph: Graph, rollback_graph: Graph
) -> None:
    built = image_component(recorded_graph)
    kept = image_component(rollback_graph)
    (build_urn,) = [urn for urn, r in built.items() if r.type == BUILD]
    # Same URNs (no replacement, no deletion: the images in the repository stay) ...
    assert set(kept) == set(built) - {build_urn}
    assert {r.type for r in kept.values()} >= {
        REPOSITORY,
        "aws:kms/key:Key",
        "aws:kms/alias:Alias",
        "aws:ecr/lifecyclePolicy:LifecyclePolicy",
    }
    # ... and the same inputs and options: nothing about them changes.
    for urn, resource in kept.items():
        before = built[urn]
        assert (resource.inputs, resource.parent, resource.protect) == (
            before.inputs,
            before.parent,
            before.protect,
        ), urn
    assert named(rollback_graph, REPOSITORY, f"api-{SUFFIX}").inputs["forceDelete"] is True


def test_rolling_back_builds_nothing(rollback_graph: Graph) -> None:
    assert rollback_graph.of_type(BUILD) == []


def test_nothing_but_the_build_leaves_the_graph(
    recorded_graph: Graph, rollback_graph: Graph
) -> None:
    (build,) = recorded_graph.of_type(BUILD)
    assert {r.urn for r in rollback_graph} == {r.urn for r in recorded_graph} - {build.urn}


def test_the_tasks_run_the_tag_from_the_stacks_own_repository(rollback_graph: Graph) -> None:
    url = only(rollback_graph, REPOSITORY).outputs["repositoryUrl"]
    assert url.endswith(f".dkr.ecr.us-east-1.amazonaws.com/api-{SUFFIX}")
    assert container(rollback_graph)["image"] == f"{url}:{TAG}"
    # The migrations and the key CLI of that image too: an older image's migrations leave a
    # newer schema alone (app/api payments_api/migrate.py).
    assert images(rollback_graph) == dict.fromkeys(FAMILIES, f"{url}:{TAG}")


def test_a_digest_is_run_by_digest() -> None:
    graph = record_program(rolled_back(DIGEST), stack="test")
    url = only(graph, REPOSITORY).outputs["repositoryUrl"]
    assert images(graph) == dict.fromkeys(FAMILIES, f"{url}@{DIGEST}")
    assert graph.of_type(BUILD) == []


@pytest.mark.parametrize(
    "policy_name",
    [
        f"ecs-task-execution-policy-{SUFFIX}",
        f"ecs-migrations-execution-policy-{SUFFIX}",
        f"ecs-keys-execution-policy-{SUFFIX}",
    ],
)
def test_the_tasks_may_pull_from_the_stacks_own_repository_and_nothing_else(
    rollback_graph: Graph, policy_name: str
) -> None:
    policy = named(rollback_graph, "aws:iam/rolePolicy:RolePolicy", policy_name)
    found = {s["Sid"]: s for s in json.loads(policy.inputs["policy"])["Statement"]}
    assert found["PullApiImage"]["Resource"] == [only(rollback_graph, REPOSITORY).outputs["arn"]]


def test_a_rolled_back_stack_passes_every_graph_check(rollback_graph: Graph) -> None:
    results = checks.run_checks(rollback_graph, SUFFIX, ZONES)
    assert {r.name: r.problems for r in results if not r.passed} == {}


def test_the_build_survives_leaving_the_graph_and_nothing_else_may(graph: Graph) -> None:
    """pulumi-docker-build's delete removes the pushed image from ECR: a rollback takes the
    build out of the graph, and must not take the image the service ran with it."""
    assert only(graph, BUILD).retain_on_delete is True
    assert check_destroyable(graph) == []
    only(graph, REPOSITORY).retain_on_delete = True  # a private copy of the graph
    (problem,) = check_destroyable(graph)
    assert problem == f"{REPOSITORY} image-repository is retained on delete"


def test_replaced_task_definition_revisions_stay_active(recorded_graph: Graph) -> None:
    """The emergency rollback points the service at an earlier revision: ECS refuses an
    INACTIVE one, which a deregistered (destroyed) revision is."""
    tasks = recorded_graph.of_type(TASK)
    assert sorted(t.inputs["family"] for t in tasks) == sorted(FAMILIES)
    for task in tasks:
        assert task.inputs["skipDestroy"] is True, task.inputs["family"]


# -- the settings -----------------------------------------------------------------------------


def refused(config: dict[str, str]) -> list[str]:
    monitor = RecordingMonitor(PlaceholderMocks())
    with pytest.raises(ConfigError) as raised:
        record_program(config, monitor=monitor)
    assert monitor.recorded == []  # refused before any resource exists
    return raised.value.problems


def test_an_image_from_outside_the_stack_and_a_rollback_together_are_refused() -> None:
    (problem,) = refused(rolled_back(TAG, **{"payments:apiImage": PREBUILT_IMAGE}))
    assert problem == (
        "payments:apiImageTag must not be set with payments:apiImage (payments:apiImageTag "
        "runs an earlier image of the stack's own ECR repository, payments:apiImage an image "
        f'from outside the stack, and removes that repository); got "{TAG}" and '
        f'"{PREBUILT_IMAGE}"'
    )


@pytest.mark.parametrize(
    "tag",
    [
        "src-0123456789abcdef-0123456789ab-x86-64",
        "src-0123456789abcdef-0123456789ab-dirty-x86-64",
        "src-0123456789abcdef-x86-64",  # a tag from before the commit was in it
    ],
)
def test_a_tag_the_build_made_for_the_other_platform_is_refused(tag: str) -> None:
    (problem,) = refused(rolled_back(tag))
    assert problem == (
        "payments:apiImageTag must name an image built for payments:apiCpuArchitecture ARM64 "
        f'(a tag ending in -arm64); got "{tag}"'
    )


@pytest.mark.parametrize("architecture", ["ARM64", "X86_64"])
def test_the_tags_the_build_pushes_pass_for_their_own_platform(architecture: str) -> None:
    # One reading of the platform for the build (image.py) and the rule (cross_rules.py).
    config = rolled_back(source_tag(architecture), **{"payments:apiCpuArchitecture": architecture})
    settings = StackConfig.from_mapping(config, project="payments", stack="test")
    assert settings.service.image_tag == source_tag(architecture)


@pytest.mark.parametrize("tag", ["v1.4.2", "latest", "release_2026.01"])
def test_a_tag_of_another_naming_is_run_as_given(tag: str) -> None:
    graph = record_program(rolled_back(tag), stack="test")
    assert container(graph)["image"].endswith(f"/api-{SUFFIX}:{tag}")


@pytest.mark.parametrize(
    "value",
    ["-leading-dash", ".leading-dot", "a" * 129, "sha256:abc", "with space", "repo/path:tag"],
)
def test_anything_but_a_tag_or_a_digest_is_refused(value: str) -> None:
    (problem,) = refused(rolled_back(value))
    assert problem.startswith("payments:apiImageTag must be an image tag (1-128 of")
    assert f'got "{value}"' in problem


def test_an_empty_tag_is_unset_and_builds() -> None:
    graph = record_program(rolled_back(""), stack="test")
    assert len(graph.of_type(BUILD)) == 1
