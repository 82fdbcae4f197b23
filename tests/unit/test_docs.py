"""The documentation cannot drift: from the declarations, from the files it names, from itself."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest
import yaml

from payments_infra import REPO_ROOT
from payments_infra.components.outputs import OUTPUTS
from payments_infra.config import SETTINGS
from payments_infra.docs import generate as docs
from payments_infra.offline.graph import Graph
from payments_infra.offline.mocks import record_program
from tests.graph_snapshot import CONFIGS
from tests.stacks import SUFFIX

README = REPO_ROOT / "README.md"
README_MAX_BYTES = 12 * 1024
DOC_PAGES = sorted((REPO_ROOT / "docs").glob("*.md"))
# Every Markdown page whose relative links are checked: the README, docs/, and the parts' READMEs.
LINKED_PAGES = [
    README,
    *DOC_PAGES,
    *sorted(REPO_ROOT.glob("app/*/README.md")),
    *sorted(REPO_ROOT.glob("functions/*/README.md")),
]

FENCE = re.compile(r"^(```|~~~).*?^\1[^\n]*$", re.MULTILINE | re.DOTALL)
CODE_SPAN = re.compile(r"`[^`\n]*`")
LINK = re.compile(r"!?\[[^\]\n]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")
HEADING = re.compile(r"^#{1,6}\s+(.+?)\s*#*\s*$", re.MULTILINE)


def _prose(markdown: str) -> str:
    """The Markdown without fenced code blocks, where brackets are code, not links."""
    return FENCE.sub("", markdown)


def links(page: Path) -> list[str]:
    return LINK.findall(CODE_SPAN.sub("", _prose(page.read_text())))


def relative_links(page: Path) -> list[str]:
    return [t for t in links(page) if not re.match(r"[a-z][a-z0-9+.-]*:", t, re.IGNORECASE)]


def anchors(page: Path) -> set[str]:
    """The heading anchors GitHub makes: lowercase, punctuation dropped, spaces to hyphens."""
    seen: dict[str, int] = {}
    found = set()
    for heading in HEADING.findall(_prose(page.read_text())):
        text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link keeps its text
        slug = re.sub(r"[^\w\- ]", "", text.lower()).replace(" ", "-")
        count = seen.get(slug, 0)
        seen[slug] = count + 1
        found.add(slug if count == 0 else f"{slug}-{count}")
    return found


def _copy_generated_files(root: Path) -> None:
    for path in {b.path for b in docs.BLOCKS}:
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text((REPO_ROOT / path).read_text())


@pytest.mark.parametrize("block", docs.BLOCKS, ids=lambda b: f"{b.path}: {b.name}")
def test_generated_block_is_up_to_date(block: docs.Block) -> None:
    text = (REPO_ROOT / block.path).read_text()
    assert block.applied(text) == text, f"{block.path}: {block.name}: run {docs.COMMAND}"


@pytest.mark.parametrize("block", docs.BLOCKS, ids=lambda b: f"{b.path}: {b.name}")
def test_the_check_names_the_file_and_block_edited_by_hand(
    block: docs.Block, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _copy_generated_files(tmp_path)
    page = tmp_path / block.path
    page.write_text(page.read_text().replace(block.start, f"{block.start}\nedited by hand"))

    assert docs.main(["--check"], root=tmp_path) == 1
    assert capsys.readouterr().err.splitlines() == [
        f"{block.path}: {block.name} is out of date: run {docs.COMMAND}"
    ]
    assert docs.main([], root=tmp_path) == 0
    assert "edited by hand" not in page.read_text()
    assert docs.main(["--check"], root=tmp_path) == 0

    page.write_text(page.read_text().replace(block.end, ""))
    assert docs.main(["--check"], root=tmp_path) == 1
    assert f"{block.path}: {block.name}: must hold" in capsys.readouterr().err


def test_a_block_that_cannot_be_generated_is_named_and_the_others_still_checked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _copy_generated_files(tmp_path)

    def broken() -> str:
        raise RuntimeError("the program failed")

    first, *others = docs.BLOCKS
    monkeypatch.setattr(docs, "BLOCKS", (dataclasses.replace(first, render=broken), *others))
    assert docs.main(["--check"], root=tmp_path) == 1
    assert capsys.readouterr().err.splitlines() == [
        f"{first.path}: {first.name} could not be generated: RuntimeError: the program failed"
    ]


def test_settings_table_lists_every_setting() -> None:
    page = (REPO_ROOT / "docs" / "settings.md").read_text()
    assert [s.key for s in SETTINGS if f"| `{s.key}` |" not in page] == []


def test_pulumi_yaml_describes_every_setting_with_its_default() -> None:
    project = yaml.safe_load((REPO_ROOT / "Pulumi.yaml").read_text())
    described = project["template"]["config"]
    assert list(described) == [s.key for s in SETTINGS]
    for setting in SETTINGS:
        assert described[setting.key].get("default") == setting.default_text, setting.key
        assert setting.description in described[setting.key]["description"]


def test_example_stack_mentions_every_setting() -> None:
    example = (REPO_ROOT / "Pulumi.dev.yaml").read_text()
    missing = [s.key for s in SETTINGS if s.key not in example]
    assert missing == []


def test_every_output_is_declared_and_every_declared_output_exported(
    recorded_graph: Graph,
) -> None:
    # The default test stack (certificate mode 3) exports every output, the PEM included.
    assert sorted(recorded_graph.stack_outputs) == sorted(o.name for o in OUTPUTS)


# What an output's name ends in says what its value is.
OUTPUT_KINDS = ("_id", "_ids", "_arn", "_name", "_url", "_endpoint", "_pem", "_mode")
# Zone names, but `availability_zones` reads as what it is and tests read it (not renamed);
# `creation_settings` is a map of settings, read by preflight (offline/creation_settings.py).
OUTPUT_NAMES_WITHOUT_KIND = {"availability_zones", "creation_settings"}


def test_output_names_end_in_their_kind() -> None:
    names = [o.name for o in OUTPUTS]
    assert len(set(names)) == len(names)
    unsuffixed = [n for n in names if not n.endswith(OUTPUT_KINDS)]
    assert sorted(unsuffixed) == sorted(OUTPUT_NAMES_WITHOUT_KIND)


def _alarms(graph: Graph, suffix: str) -> set[str]:
    return {a.inputs["name"].removesuffix(f"-{suffix}") for a in graph.of_type(docs.METRIC_ALARM)}


def test_the_alarms_table_is_recorded_from_a_stack_with_every_alarm(
    recorded_graph: Graph,
) -> None:
    documented = _alarms(docs._docs_graph(), docs.DOCS_SUFFIX)
    everything = record_program(CONFIGS["everything"], stack="test")
    for graph in (recorded_graph, everything):
        assert _alarms(graph, SUFFIX) - documented == set()
    assert len(docs.alarm_rows(docs._docs_graph())) == len(documented) - 2  # 3 NAT alarms: 1 row


def test_table_cells_escape_what_markdown_would_swallow() -> None:
    assert (
        docs.cell("api.<domain> | `https://<id>` < 3") == r"api.&lt;domain> \| `https://<id>` < 3"
    )


def test_readme_stays_a_five_minute_read() -> None:
    size = len(README.read_bytes())
    assert size < README_MAX_BYTES, (
        f"README.md is {size} bytes; keep it under {README_MAX_BYTES}: detail goes in docs/"
    )


def test_readme_links_every_page_of_docs() -> None:
    assert DOC_PAGES, "docs/ has no pages"
    targets = {t.split("#", 1)[0] for t in relative_links(README)}
    pages = [p.relative_to(REPO_ROOT).as_posix() for p in DOC_PAGES]
    assert [p for p in pages if p not in targets] == [], "link these pages from README.md"


@pytest.mark.parametrize("page", LINKED_PAGES, ids=lambda p: p.relative_to(REPO_ROOT).as_posix())
def test_relative_links_point_at_files_and_headings_that_exist(page: Path) -> None:
    broken = []
    for target in relative_links(page):
        path, _, anchor = target.partition("#")
        file = (page.parent / path).resolve() if path else page
        if not file.exists():
            broken.append(f"{target}: no such file")
        elif anchor and file.suffix == ".md" and anchor not in anchors(file):
            broken.append(f"{target}: no such heading in {file.relative_to(REPO_ROOT)}")
    assert broken == []


def test_anchors_follow_githubs_rules(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text(
        "# Compliance map (PCI DSS v4.0)\n\n## Certificates: three modes\n\n"
        "```\n# not a heading\n```\n\n## `make test` runs\n\n## Notes\n\n## Notes\n"
    )
    assert anchors(page) == {
        "compliance-map-pci-dss-v40",
        "certificates-three-modes",
        "make-test-runs",
        "notes",
        "notes-1",
    }


def test_the_pre_commit_hook_runs_make_lint() -> None:
    """One definition of the lint: the hook runs the Makefile's target, whatever it holds."""
    config = yaml.safe_load((REPO_ROOT / ".pre-commit-config.yaml").read_text())
    (repo,) = config["repos"]
    (hook,) = repo["hooks"]
    assert (repo["repo"], hook["entry"], hook["pass_filenames"]) == ("local", "make lint", False)
    makefile = (REPO_ROOT / "Makefile").read_text()
    assert "\nlint: " in makefile
