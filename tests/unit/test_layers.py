"""The layers stay layers, one way only, with no exceptions.

payments_infra: config <- aws <- components <- offline <- docs, and the policy pack (policy/)
between offline and docs. Inside components, each tier imports only the tiers below it, in the
order the diagram builds them, and platform.py (with outputs.py) sits on top of them all.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from payments_infra import REPO_ROOT

PACKAGE = REPO_ROOT / "payments_infra"
# layer -> the layers it may import (besides itself); "policy" is the policy pack (policy/).
ALLOWED: dict[str, set[str]] = {
    "config": set(),
    "aws": {"config"},
    "components": {"aws", "config"},
    "offline": {"aws", "config", "components"},
    "policy": {"aws", "config", "components", "offline"},
    "docs": {"aws", "config", "components", "offline", "policy"},
}
LAYER_DIRECTORIES = {layer: PACKAGE / layer for layer in ALLOWED} | {"policy": REPO_ROOT / "policy"}
# The tiers of components/, bottom first: each may import those before it.
TIERS = ["network", "database", "api", "edge", "frontend", "observability", "account"]


def imported_modules(path: Path) -> set[str]:
    modules: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            modules |= {node.module} | {f"{node.module}.{a.name}" for a in node.names}
        elif isinstance(node, ast.Import):
            modules |= {a.name for a in node.names}
    return modules


def imported_layers(path: Path) -> set[str]:
    layers = set()
    for name in imported_modules(path):
        parts = name.split(".")
        if parts[0] == "policy":
            layers.add("policy")
        elif parts[0] == "payments_infra" and len(parts) > 1 and parts[1] in ALLOWED:
            layers.add(parts[1])
    return layers


def imported_tiers(path: Path) -> set[str]:
    return {
        name.split(".")[2]
        for name in imported_modules(path)
        if name.startswith("payments_infra.components.") and name.split(".")[2] in TIERS
    }


@pytest.mark.parametrize("layer", sorted(ALLOWED))
def test_each_layer_imports_only_the_layers_below_it(layer: str) -> None:
    offenders = {
        str(path.relative_to(REPO_ROOT)): sorted(imported_layers(path) - ALLOWED[layer] - {layer})
        for path in sorted(LAYER_DIRECTORIES[layer].rglob("*.py"))
    }
    assert {k: v for k, v in offenders.items() if v} == {}


@pytest.mark.parametrize("tier", TIERS)
def test_each_tier_imports_only_the_tiers_below_it(tier: str) -> None:
    below = set(TIERS[: TIERS.index(tier)])
    offenders = {
        str(path.relative_to(REPO_ROOT)): sorted(imported_tiers(path) - below - {tier})
        for path in sorted((PACKAGE / "components" / tier).rglob("*.py"))
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def test_the_tier_folders_are_the_tiers() -> None:
    components = PACKAGE / "components"
    folders = sorted(p.name for p in components.iterdir() if (p / "__init__.py").exists())
    assert folders == sorted(TIERS)
    # Only what wires the tiers together sits beside them.
    assert sorted(p.name for p in components.glob("*.py")) == [
        "__init__.py",
        "network_paths.py",
        "outputs.py",
        "platform.py",
    ]


def test_the_program_itself_never_imports_the_offline_tooling() -> None:
    assert imported_layers(REPO_ROOT / "__main__.py") <= {"aws", "config", "components"}


def test_every_module_sits_in_a_layer() -> None:
    assert sorted(p.name for p in PACKAGE.glob("*.py")) == ["__init__.py"]
    assert sorted(p.name for p in PACKAGE.iterdir() if p.is_dir() and p.name != "__pycache__") == (
        sorted(layer for layer in ALLOWED if layer != "policy")
    )
