"""The release checks of `make up` (release.py): a committed tree, an image to roll back to, and
both wired into preflight. The commit in the image and its tag are test_image_commit.py's."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from payments_infra.offline import creation_settings, preflight, release
from tests.aws_stubs import stubbed

# -- preflight: a committed tree --------------------------------------------------------------


def status(out: str, code: int = 0) -> Callable[[list[str]], subprocess.CompletedProcess[str]]:
    def run(command: list[str]) -> subprocess.CompletedProcess[str]:
        assert command[-2:] == ["status", "--porcelain"]
        return subprocess.CompletedProcess(command, code, out, "")

    return run


PROTECTED = {"config": {"payments:protectData": "true"}}


def test_a_committed_tree_passes(repo: Path) -> None:
    assert release.dirty_tree_problems({}, {}, root=repo) == []


def test_uncommitted_changes_are_refused_and_named(repo: Path) -> None:
    (repo / "README.md").write_text("edited\n")
    (repo / "Pulumi.prod.yaml").write_text("config: {}\n")
    (problem,) = release.dirty_tree_problems({}, {}, root=repo)
    assert problem == (
        "the work tree has uncommitted changes (README.md, Pulumi.prod.yaml): a deploy must "
        "come from a commit, so that what runs can be traced to it (/healthz reports the "
        "API's). Commit them (a setting changed in Pulumi.<stack>.yaml too), or set "
        "PAYMENTS_ALLOW_DIRTY_DEPLOY=1 to deploy a development stack as it is"
    )


def test_a_long_list_of_changes_is_cut_short() -> None:
    changed = "".join(f" M file{i}.py\n" for i in range(8))
    (problem,) = release.dirty_tree_problems({}, {}, run=status(changed))
    assert "(file0.py, file1.py, file2.py, file3.py, file4.py and 3 more)" in problem


def test_a_tree_git_cannot_read_is_refused(tmp_path: Path) -> None:
    (problem,) = release.dirty_tree_problems({}, {}, root=tmp_path)
    assert problem.startswith(f"cannot tell whether {tmp_path} is committed (git status failed")
    assert problem.endswith("or set PAYMENTS_ALLOW_DIRTY_DEPLOY=1 for a development stack")


def test_a_development_stack_may_deploy_as_it_is_when_told(
    capsys: pytest.CaptureFixture[str],
) -> None:
    allow = {"PAYMENTS_ALLOW_DIRTY_DEPLOY": "1"}
    assert release.dirty_tree_problems({}, allow, run=status(" M x.py\n")) == []
    assert "PAYMENTS_ALLOW_DIRTY_DEPLOY=1: deploying the work tree as it is" in (
        capsys.readouterr().out
    )
    # Only "1" says it: anything else is not an answer.
    assert release.dirty_tree_problems(
        {}, {"PAYMENTS_ALLOW_DIRTY_DEPLOY": "yes"}, run=status(" M x.py\n")
    )


def test_a_stack_that_protects_its_data_takes_no_exception() -> None:
    allow = {"PAYMENTS_ALLOW_DIRTY_DEPLOY": "1"}
    (problem,) = release.dirty_tree_problems(PROTECTED, allow, run=status(" M x.py\n"))
    assert problem.endswith(
        "(a setting changed in Pulumi.<stack>.yaml too); PAYMENTS_ALLOW_DIRTY_DEPLOY does not "
        "apply to a stack with payments:protectData"
    )
    assert release.dirty_tree_problems(PROTECTED, allow, run=status("")) == []


@pytest.mark.parametrize(
    ("config", "builds"),
    [
        ({}, True),
        ({"payments:apiImageTag": "src-x-arm64"}, False),
        ({"payments:apiImage": "1.dkr.ecr.us-east-1.amazonaws.com/a:1"}, False),
        ({"payments:apiImageTag": ""}, True),
    ],
)
def test_only_a_stack_without_an_image_setting_builds(config: dict[str, str], builds: bool) -> None:
    assert release.builds_image({"config": config}) is builds


# -- preflight: an image to roll back to -------------------------------------------------------


def rollback_to(tag: str) -> dict[str, Any]:
    return {"config": {"payments:environmentSuffix": "prod1", "payments:apiImageTag": tag}}


TAG = "src-0123456789abcdef-0123456789ab-arm64"
DIGEST = f"sha256:{'ab' * 32}"


@pytest.mark.parametrize(("wanted", "image_id"), [(TAG, "imageTag"), (DIGEST, "imageDigest")])
def test_an_image_the_repository_holds_passes(wanted: str, image_id: str) -> None:
    client, stub = stubbed("ecr")
    stub.add_response(
        "describe_images",
        {"imageDetails": [{"repositoryName": "api-prod1"}]},
        expected_params={"repositoryName": "api-prod1", "imageIds": [{image_id: wanted}]},
    )
    with stub:
        assert release.image_tag_problems(rollback_to(wanted), {"ecr": client}.__getitem__) == []
    stub.assert_no_pending_responses()


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        (
            "ImageNotFoundException",
            f"payments:apiImageTag is {TAG}, but the stack's ECR repository api-prod1 holds no "
            "such image (never pushed there, or expired by its lifecycle rule): list what it "
            "holds with `aws ecr describe-images --repository-name api-prod1` and choose one "
            "of those",
        ),
        (
            "RepositoryNotFoundException",
            f"payments:apiImageTag is {TAG}, but the stack has no ECR repository api-prod1 yet: "
            "the setting runs an image an earlier `make up` of this stack pushed; remove it for "
            "the first deploy",
        ),
        (
            "AccessDeniedException",
            "AWS refused to list the images of api-prod1 (DescribeImages: "
            f"AccessDeniedException), so payments:apiImageTag {TAG} was not checked: allow the "
            "deploying identity ecr:DescribeImages on it, then run again",
        ),
    ],
)
def test_an_image_the_repository_lacks_is_one_sentence(code: str, expected: str) -> None:
    client, stub = stubbed("ecr")
    stub.add_client_error("describe_images", code)
    with stub:
        assert release.image_tag_problems(rollback_to(TAG), {"ecr": client}.__getitem__) == [
            expected
        ]


@pytest.mark.parametrize(
    "config",
    [
        {"payments:environmentSuffix": "prod1"},
        {
            "payments:environmentSuffix": "prod1",
            "payments:apiImageTag": TAG,
            "payments:apiImage": "x",
        },
    ],
)
def test_no_look_up_without_a_rollback(config: dict[str, str]) -> None:
    def no_client(service: str) -> Any:
        raise AssertionError(f"asked for {service}")

    assert release.image_tag_problems({"config": config}, no_client) == []


# -- wired into preflight ----------------------------------------------------------------------


def stack(root: Path, **config: str) -> None:
    lines = "".join(f"  {key}: {value}\n" for key, value in config.items())
    (root / "Pulumi.dev.yaml").write_text(
        f"config:\n  payments:environmentSuffix: dev1\n  aws:region: us-east-1\n{lines}"
    )


@pytest.mark.parametrize(("config", "builds"), [({}, True), ({"payments:apiImageTag": TAG}, False)])
def test_up_checks_the_tree_and_asks_for_docker_only_when_it_builds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, config: dict[str, str], builds: bool
) -> None:
    stack(tmp_path, **config)
    asked: list[str] = []

    def recorded(name: str, answer: list[str]) -> Callable[..., list[str]]:
        def check(*args: Any, **kwargs: Any) -> list[str]:
            asked.append(name)
            return answer

        return check

    monkeypatch.setattr(preflight, "dirty_tree_problems", recorded("tree", ["uncommitted"]))
    monkeypatch.setattr(preflight, "docker_problems", recorded("docker", []))
    monkeypatch.setattr(preflight, "architecture_problems", recorded("architecture", []))
    monkeypatch.setattr(preflight, "base_image_problems", recorded("base image", []))
    monkeypatch.setattr(preflight, "image_tag_problems", recorded("image tag", []))
    monkeypatch.setattr(preflight, "aws_problems", lambda *args: ["no AWS here"])
    found = preflight.problems("dev", "up", root=tmp_path)
    assert "uncommitted" in found and "no AWS here" in found
    builds_asked = {"docker", "architecture", "base image"} <= set(asked)
    assert ("tree" in asked, builds_asked, "image tag" in asked) == (True, builds, False)
    asked.clear()
    preflight.problems("dev", "verify", root=tmp_path)
    assert asked == []  # only `up` deploys


def test_up_looks_the_rollback_image_up_once_aws_answers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    stack(tmp_path, **{"payments:apiImageTag": TAG})
    looked_up: list[dict[str, Any]] = []

    def image_tag_problems(document: dict[str, Any], client_for: Any) -> list[str]:
        looked_up.append(document)
        return ["no such image"]

    monkeypatch.setattr(preflight, "dirty_tree_problems", lambda *args: [])
    monkeypatch.setattr(preflight, "image_tag_problems", image_tag_problems)
    monkeypatch.setattr(preflight, "aws_problems", lambda *args: [])
    monkeypatch.setattr(preflight, "aws_client", lambda service: object())
    monkeypatch.setattr(preflight, "secrets_provider_problems", lambda *args: [])
    monkeypatch.setattr(preflight, "s3_state_problems", lambda *args: [])
    monkeypatch.setattr(preflight, "_planned_problems", lambda *args: [])
    monkeypatch.setattr(creation_settings, "problems", lambda *args: [])
    assert "no such image" in preflight.problems("dev", "up", root=tmp_path)
    assert [d["config"]["payments:apiImageTag"] for d in looked_up] == [TAG]
