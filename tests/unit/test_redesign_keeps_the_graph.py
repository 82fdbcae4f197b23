"""The redesign changes the code, not what is deployed: the recorded graph is the one before it.

``tests/fixtures/graph_before_redesign/`` holds the graphs recorded before the layout changed
(``python -m tests.graph_snapshot``). Every AWS resource must still be there with the same
type, name, inputs, provider and dependencies. A resource whose URN moved (a new parent
component) must carry an alias to its old URN, so a deployed stack updates it in place
instead of replacing it. New component resources (no AWS resource) may appear.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from payments_infra import REPO_ROOT
from payments_infra.components import outputs
from payments_infra.offline.mocks import record_program
from tests.graph_snapshot import CONFIGS, snapshot

BEFORE = REPO_ROOT / "tests" / "fixtures" / "graph_before_redesign"
# The only outputs the redesign may change: renamed to end in what they hold, same values.
RENAMED_OUTPUTS = {
    "alb_logs_bucket": "alb_logs_bucket_name",
    "frontend_bucket": "frontend_bucket_name",
    "alb_access_log_group": "alb_access_log_group_name",
}


def old_urns(
    now: dict[str, Any], aliases: dict[str, list[str]], before: dict[str, Any]
) -> dict[str, str]:
    """Each current URN -> the URN it had before: itself, or the alias that names an old one.

    Only aliases naming a URN of the old graph count: pulumi_aws declares some of its own
    (``aws.s3.Bucket`` keeps the type alias of the old ``BucketV2``).
    """
    renamed = {}
    for urn in now:
        moved = [alias for alias in aliases.get(urn, []) if alias in before]
        renamed[urn] = urn if urn in before or not moved else moved[0]
    return renamed


@pytest.mark.parametrize("config_name", sorted(CONFIGS))
def test_the_graph_is_the_one_before_the_redesign(config_name: str) -> None:
    before = json.loads((BEFORE / f"{config_name}.json").read_text())
    graph = record_program(CONFIGS[config_name], stack="test")
    now = snapshot(graph)
    aliases = {r.urn: r.aliases for r in graph}
    renamed = old_urns(now["resources"], aliases, before["resources"])

    def as_before(urn: str) -> str:
        return renamed.get(urn, urn)

    current = {as_before(urn): record for urn, record in now["resources"].items()}
    missing = sorted(urn for urn in before["resources"] if urn not in current)
    assert missing == [], "resources gone or moved without an alias"
    added = sorted(
        urn
        for urn, record in current.items()
        if urn not in before["resources"] and record["custom"]
    )
    assert added == [], "AWS resources the redesign added"

    for urn, was in before["resources"].items():
        new = dict(current[urn])
        new["dependencies"] = sorted(
            as_before(d) for d in new["dependencies"] if as_before(d) in before["resources"]
        )
        old = dict(was, dependencies=sorted(was["dependencies"]))
        if urn not in now["resources"]:  # moved on purpose, carried by its alias
            new.pop("parent")
            old.pop("parent")
        else:
            new["parent"] = as_before(new["parent"])
        new["provider"] = as_before(new["provider"])
        assert new == old, urn
    old_name = {new: old for old, new in RENAMED_OUTPUTS.items()}
    assert {old_name.get(k, k): v for k, v in now["outputs"].items()} == before["outputs"]


def test_the_renamed_outputs_are_the_documented_ones() -> None:
    assert outputs.RENAMED_OUTPUTS == RENAMED_OUTPUTS
