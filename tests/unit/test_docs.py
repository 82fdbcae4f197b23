"""The documentation cannot drift: from StackConfig, from the files it names, from itself."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from payments_infra import docs
from payments_infra.config import SETTINGS
from payments_infra.recording import REPO_ROOT

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


def test_settings_table_is_generated_from_stack_config() -> None:
    page = docs.SETTINGS_PAGE.read_text()
    assert docs.with_table(page) == page, "run: make docs (python -m payments_infra.docs)"
    for setting in SETTINGS:
        assert f"`{setting.key}`" in page


def test_the_check_names_the_page_when_the_table_is_stale(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    stale = tmp_path / "settings.md"
    stale.write_text(f"# Settings\n\n{docs.START}\n| old |\n{docs.END}\n")
    monkeypatch.setattr(docs, "SETTINGS_PAGE", stale)
    assert docs.main(["--check"]) == 1
    assert "docs/settings.md" in capsys.readouterr().err
    assert docs.main([]) == 0
    assert docs.main(["--check"]) == 0
    stale.write_text("# Settings, markers lost\n")
    assert docs.main(["--check"]) == 1
    assert "docs/settings.md" in capsys.readouterr().err


def test_pulumi_yaml_describes_every_setting_with_the_same_default() -> None:
    project = yaml.safe_load((REPO_ROOT / "Pulumi.yaml").read_text())
    described = project["template"]["config"]
    assert set(described) == {s.key for s in SETTINGS}
    for setting in SETTINGS:
        if "default" in described[setting.key]:
            assert described[setting.key]["default"] == setting.default, setting.key
        assert described[setting.key]["description"]


def test_example_stack_mentions_every_setting() -> None:
    example = (REPO_ROOT / "Pulumi.dev.yaml").read_text()
    missing = [s.key for s in SETTINGS if s.key not in example]
    assert missing == []


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
