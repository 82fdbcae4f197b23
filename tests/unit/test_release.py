"""What is deployed can be told, and comes from a commit: the commit the image is built from
(image.py, build-image.sh, the Dockerfile), the tag that names it, and the release checks of
`make up` (release.py: a committed tree, an image to roll back to)."""

from __future__ import annotations

import re
import shlex
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from payments_infra import REPO_ROOT
from payments_infra.components import image
from payments_infra.components.image import (
    IMAGE_INPUTS,
    SourceVersion,
    read_source_version,
    source_tag,
    source_version,
)
from payments_infra.offline import preflight, release
from payments_infra.offline.graph import Graph
from tests.aws_stubs import stubbed
from tests.graph_queries import only

API = REPO_ROOT / "app" / "api"
BUILD_IMAGE = API / "docker" / "build-image.sh"
DOCKERFILE = API / "Dockerfile"
COMMIT = "0123456789abcdef0123456789abcdef01234567"


def git(work_tree: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
        cwd=work_tree,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A repository holding an app/api with each image input, committed, and one more file."""
    api = tmp_path / "app" / "api"
    (api / "payments_api").mkdir(parents=True)
    (api / "certs").mkdir()
    (api / "tests").mkdir()
    (api / "Dockerfile").write_text("FROM scratch\n")
    (api / "requirements.txt").write_text("fastapi==1\n")
    (api / "payments_api" / "main.py").write_text("app = 1\n")
    (api / "certs" / "ca.pem").write_text("ca\n")
    (api / "tests" / "test_x.py").write_text("x = 1\n")
    (tmp_path / "README.md").write_text("readme\n")
    git(tmp_path, "init", "-q")
    git(tmp_path, "add", ".")
    git(tmp_path, "commit", "-qm", "first")
    return tmp_path


def api_of(repo: Path) -> Path:
    return repo / "app" / "api"


def head(repo: Path) -> str:
    return git(repo, "rev-parse", "HEAD")


# -- the commit of the image's inputs ---------------------------------------------------------


def test_the_commit_is_the_last_one_that_changed_the_image_inputs(repo: Path) -> None:
    first = head(repo)
    (repo / "README.md").write_text("docs change\n")
    (api_of(repo) / "tests" / "test_x.py").write_text("x = 2\n")  # not an input either
    git(repo, "commit", "-qam", "docs and tests")
    assert read_source_version(api_of(repo)) == SourceVersion(commit=first, dirty=False)
    (api_of(repo) / "payments_api" / "main.py").write_text("app = 2\n")
    git(repo, "commit", "-qam", "the API")
    assert read_source_version(api_of(repo)) == SourceVersion(commit=head(repo), dirty=False)


@pytest.mark.parametrize(
    "change",
    [
        lambda api: (api / "payments_api" / "main.py").write_text("edited\n"),
        lambda api: (api / "payments_api" / "new.py").write_text("untracked\n"),
        lambda api: (api / "Dockerfile").unlink(),
        lambda api: (api / "certs" / "ca.pem").write_text("other ca\n"),
    ],
)
def test_an_uncommitted_change_to_an_input_makes_it_dirty(
    repo: Path, change: Callable[[Path], Any]
) -> None:
    change(api_of(repo))
    version = read_source_version(api_of(repo))
    assert version == SourceVersion(commit=head(repo), dirty=True)
    assert version.label == f"{head(repo)}-dirty"
    assert version.tag_part == f"{head(repo)[:12]}-dirty"


def test_a_change_outside_the_inputs_leaves_it_clean(repo: Path) -> None:
    (repo / "README.md").write_text("edited\n")
    (api_of(repo) / "tests" / "test_y.py").write_text("new\n")
    assert read_source_version(api_of(repo)).dirty is False


def test_without_git_the_commit_is_unknown(tmp_path: Path) -> None:
    (tmp_path / "Dockerfile").write_text("FROM scratch\n")
    version = read_source_version(tmp_path)
    assert version == SourceVersion(commit=None, dirty=False)
    assert (version.label, version.tag_part) == ("", "unknown")


def test_the_tag_names_the_commit_and_changes_with_it(repo: Path) -> None:
    api = api_of(repo)
    clean = SourceVersion(commit=COMMIT, dirty=False)
    tag = source_tag("ARM64", api, version=clean)
    assert re.fullmatch(rf"src-[0-9a-f]{{16}}-{COMMIT[:12]}-arm64", tag)
    # The same sources under another commit (a revert) or dirty: another tag, never a second
    # push of one to the immutable repository.
    others = {
        source_tag("ARM64", api, version=SourceVersion(commit="f" * 40, dirty=False)),
        source_tag("ARM64", api, version=SourceVersion(commit=COMMIT, dirty=True)),
        source_tag("ARM64", api, version=SourceVersion(commit=None, dirty=False)),
    }
    assert tag not in others and len(others) == 3
    assert source_tag("X86_64", api, version=clean).endswith(f"-{COMMIT[:12]}-x86-64")


def test_the_build_bakes_in_the_commit_its_tag_names(recorded_graph: Graph) -> None:
    build = only(recorded_graph, "docker-build:index:Image").inputs
    version = source_version()
    assert build["buildArgs"] == {"GIT_COMMIT": version.label}
    assert build["tags"][0].endswith(f"-{version.tag_part}-arm64")


def test_the_program_asks_git_once_per_run(monkeypatch: pytest.MonkeyPatch) -> None:
    asked: list[tuple[str, ...]] = []

    def git(source: Path, *args: str) -> str | None:
        asked.append(args)
        return None

    monkeypatch.setattr(image, "_git", git)
    elsewhere = Path("/nonexistent/api")  # a path of its own, so the cache starts empty
    assert source_version(elsewhere) is source_version(elsewhere)
    assert len(asked) == 2  # log and status, once


# -- the image build outside Pulumi: build-image.sh and the Dockerfile -------------------------


def shell_source_commit(api: Path, environment: dict[str, str] | None = None) -> str:
    """What build-image.sh passes as GIT_COMMIT for ``api``: its own lines, run by bash."""
    script = BUILD_IMAGE.read_text()
    start = script.index("IMAGE_INPUTS=(")
    end = script.index('git_commit="${GIT_COMMIT-$(source_commit)}"\n')
    snippet = (
        f"set -euo pipefail\nAPI_DIR={shlex.quote(str(api))}\n{script[start:end]}"
        f'git_commit="${{GIT_COMMIT-$(source_commit)}}"\nprintf %s "$git_commit"\n'
    )
    env = {"PATH": "/usr/bin:/bin", **(environment or {})}
    return subprocess.run(
        ["bash", "-c", snippet], capture_output=True, text=True, check=True, env=env
    ).stdout


def test_build_image_sh_lists_the_same_image_inputs() -> None:
    (line,) = [x for x in BUILD_IMAGE.read_text().splitlines() if x.startswith("IMAGE_INPUTS=(")]
    assert tuple(line.removeprefix("IMAGE_INPUTS=(").removesuffix(")").split()) == IMAGE_INPUTS


def test_build_image_sh_works_out_the_commit_as_the_stack_does(repo: Path, tmp_path: Path) -> None:
    api = api_of(repo)
    assert shell_source_commit(api) == read_source_version(api).label == head(repo)
    (api / "requirements.txt").write_text("fastapi==2\n")
    assert shell_source_commit(api) == read_source_version(api).label == f"{head(repo)}-dirty"
    elsewhere = tmp_path / "no-git"
    elsewhere.mkdir()
    assert shell_source_commit(elsewhere) == read_source_version(elsewhere).label == ""
    assert shell_source_commit(api, {"GIT_COMMIT": COMMIT}) == COMMIT  # the caller's wins


def test_build_image_sh_passes_the_commit_to_the_build() -> None:
    joined = re.sub(r"\\\n\s*", " ", BUILD_IMAGE.read_text())
    (build,) = [line for line in joined.splitlines() if '"$docker_cli" build ' in line]
    assert '--build-arg "GIT_COMMIT=$git_commit"' in build


def test_the_dockerfile_bakes_the_commit_into_the_final_stage() -> None:
    final_stage = DOCKERFILE.read_text().split("\nFROM ")[-1].splitlines()
    assert 'ARG GIT_COMMIT=""' in final_stage
    assert "ENV GIT_COMMIT=${GIT_COMMIT}" in final_stage
    # After the last layer-making instruction: a new commit keeps every cached layer.
    last_layer = max(
        i for i, line in enumerate(final_stage) if line.split(" ", 1)[0] in ("COPY", "RUN")
    )
    assert final_stage.index('ARG GIT_COMMIT=""') > last_layer


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
    monkeypatch.setattr(preflight.creation_settings, "problems", lambda *args: [])
    assert "no such image" in preflight.problems("dev", "up", root=tmp_path)
    assert [d["config"]["payments:apiImageTag"] for d in looked_up] == [TAG]
