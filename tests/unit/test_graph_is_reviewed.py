"""The recorded graph is the reviewed one: ``tests/fixtures/graph/`` holds the graphs of two
configurations (``CONFIGS``: the default test stack, and one with every optional part).

A change to what the program deploys fails here until the snapshots are regenerated with
``python -m tests.graph_snapshot --update``, so every change to the infrastructure shows in
review as a diff of those files, beside the code that made it.

A resource whose URN changes (a new parent component, a new name) is replaced on the next
deploy unless it carries an alias to its old URN: the first test says which resources of the
snapshot are gone without one, before the second shows every difference.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from payments_infra.offline.mocks import record_program
from tests.graph_snapshot import CONFIGS, SNAPSHOTS, snapshot

REGENERATE = (
    "if the change is intended: python -m tests.graph_snapshot --update, and review the diff"
)


def recorded(config_name: str) -> tuple[dict[str, Any], dict[str, list[str]]]:
    graph = record_program(CONFIGS[config_name], stack="test")
    return snapshot(graph), {r.urn: r.aliases for r in graph}


@pytest.mark.parametrize("config_name", sorted(CONFIGS))
def test_no_reviewed_resource_moves_without_an_alias(config_name: str) -> None:
    reviewed = json.loads((SNAPSHOTS / f"{config_name}.json").read_text())["resources"]
    now, aliases = recorded(config_name)
    carried = {alias for urn_aliases in aliases.values() for alias in urn_aliases}
    gone = sorted(
        urn
        for urn, record in reviewed.items()
        if record["custom"] and urn not in now["resources"] and urn not in carried
    )
    assert gone == [], f"deleted, or moved without an alias (a replacement on deploy); {REGENERATE}"


@pytest.mark.parametrize("config_name", sorted(CONFIGS))
def test_the_graph_is_the_reviewed_snapshot(config_name: str) -> None:
    reviewed = json.loads((SNAPSHOTS / f"{config_name}.json").read_text())
    now = json.loads(json.dumps(recorded(config_name)[0], sort_keys=True, default=str))
    added = sorted(set(now["resources"]) - set(reviewed["resources"]))
    removed = sorted(set(reviewed["resources"]) - set(now["resources"]))
    assert (added, removed) == ([], []), REGENERATE
    changed = [
        urn for urn in reviewed["resources"] if reviewed["resources"][urn] != now["resources"][urn]
    ]
    assert changed == [], REGENERATE
    assert now["outputs"] == reviewed["outputs"], REGENERATE
