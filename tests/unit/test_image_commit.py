"""What is deployed can be told, and comes from a commit: the commit the API image is built from
(image.py, build-image.sh, the Dockerfile) and the tag that names it. The release checks of
`make up` are test_release.py's."""

from __future__ import annotations

import re
import shlex
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from payments_infra import REPO_ROOT
from payments_infra.components.api import image
from payments_infra.components.api.image import (
    IMAGE_INPUTS,
    SourceVersion,
    read_source_version,
    source_tag,
    source_version,
)
from payments_infra.offline.graph import Graph
from tests.git_repo import git
from tests.graph_queries import only

API = REPO_ROOT / "app" / "api"
BUILD_IMAGE = API / "docker" / "build-image.sh"
DOCKERFILE = API / "Dockerfile"
COMMIT = "0123456789abcdef0123456789abcdef01234567"


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
