"""docs/architecture.md's Layout section names every module of payments_infra/, and only those.

Each row of its table starts with a path under payments_infra/ (``components/api/service.py``);
the other names of the row's first cell are modules of the same folder.
"""

from __future__ import annotations

import re

from payments_infra import REPO_ROOT

ARCHITECTURE = REPO_ROOT / "docs" / "architecture.md"
PACKAGE = REPO_ROOT / "payments_infra"


def layout_section() -> str:
    text = ARCHITECTURE.read_text()
    return text[text.index("## Layout\n") : text.index("\n## ", text.index("## Layout\n") + 1)]


def named_modules(section: str) -> set[str]:
    """Every module a row names, as a path relative to payments_infra/."""
    named: set[str] = set()
    for row in re.findall(r"^\| (`[^|]+) \|", section, re.MULTILINE):
        first, *others = re.findall(r"`([^`]+)`", row)
        if not first.endswith(".py"):
            continue  # a folder outside payments_infra (functions/, app/...)
        folder = first.rsplit("/", 1)[0]
        named |= {first, *(f"{folder}/{name}" for name in others if name.endswith(".py"))}
    return named


def test_the_layout_names_every_module_and_no_other() -> None:
    modules = {
        str(path.relative_to(PACKAGE))
        for path in PACKAGE.rglob("*.py")
        if path.name != "__init__.py" and "__pycache__" not in path.parts
    }
    named = named_modules(layout_section())
    assert sorted(modules - named) == [], "modules the layout does not name"
    assert sorted(named - modules) == [], "names in the layout with no module"


def test_the_layout_tree_lists_the_tiers_in_their_folders() -> None:
    tiers = sorted(
        p.name for p in (PACKAGE / "components").iterdir() if (p / "__init__.py").exists()
    )
    tree_line = next(
        line for line in layout_section().splitlines() if line.strip().startswith("network/")
    )
    assert sorted(re.findall(r"(\w+)/", tree_line)) == tiers
