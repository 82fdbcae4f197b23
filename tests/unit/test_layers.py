"""The three layers stay layers: deploy code never imports the offline tooling, nor upwards."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from payments_infra import REPO_ROOT

PACKAGE = REPO_ROOT / "payments_infra"
# layer -> the layers it may import (besides itself)
ALLOWED = {
    "config": {"aws"},  # the suffix rules live with the names they protect (aws/naming.py)
    "aws": {"config"},
    "components": {"aws", "config"},
    "offline": {"aws", "config", "components"},
}


def imported_layers(path: Path) -> set[str]:
    layers = set()
    for node in ast.walk(ast.parse(path.read_text())):
        names = []
        if isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
        elif isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        for name in names:
            parts = name.split(".")
            if parts[0] == "payments_infra" and len(parts) > 1 and parts[1] in ALLOWED:
                layers.add(parts[1])
    return layers


@pytest.mark.parametrize("layer", sorted(ALLOWED))
def test_each_layer_imports_only_the_layers_below_it(layer: str) -> None:
    offenders = {
        str(path.relative_to(REPO_ROOT)): sorted(imported_layers(path) - ALLOWED[layer] - {layer})
        for path in sorted((PACKAGE / layer).glob("*.py"))
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def test_the_program_itself_never_imports_the_offline_tooling() -> None:
    assert "offline" not in imported_layers(REPO_ROOT / "__main__.py")


def test_every_module_sits_in_a_layer() -> None:
    assert sorted(p.name for p in PACKAGE.glob("*.py")) == ["__init__.py"]
