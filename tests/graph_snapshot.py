"""A recorded graph as plain JSON: the reviewed snapshots in tests/fixtures/graph/.

``python -m tests.graph_snapshot --update`` records the program with each of ``CONFIGS`` and
writes every resource's URN, type, parent, provider, inputs and dependencies to
``tests/fixtures/graph/<config>.json`` (tests/unit/test_graph_is_reviewed.py compares).
``python -m tests.graph_snapshot OUT.json CONFIG`` writes one elsewhere. Absolute paths of the
work tree become ``<repo>`` so snapshots made in other clones compare equal.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

import pulumi

from payments_infra import REPO_ROOT
from payments_infra.offline.graph import Graph, SecretValue
from payments_infra.offline.mocks import record_program
from tests.stacks import EVERYTHING, VALID_CONFIG

# The image tag: a hash of the API's source, then the commit it comes from (image.source_tag).
SOURCE_TAG = re.compile(r"src-[0-9a-f]{16}-(?:[0-9a-f]{12}(?:-dirty)?|unknown)")
SNAPSHOTS = REPO_ROOT / "tests" / "fixtures" / "graph"
# The configurations whose graphs are reviewed: the default test stack, and one with every
# optional part (DNS certificates, the log archive, native ALB logs, CloudFront-only ingress,
# alerts, an egress allow-list, the account-wide controls).
CONFIGS: dict[str, dict[str, str]] = {"default": dict(VALID_CONFIG), "everything": EVERYTHING}


def _asset(value: Any) -> Any:
    """Assets and archives by what they hold, not by their object address."""
    if isinstance(value, pulumi.asset.FileAsset | pulumi.asset.FileArchive):
        return {type(value).__name__: _clean(str(value.path))}
    if isinstance(value, pulumi.asset.StringAsset):
        return {"StringAsset": value.text}
    return {"AssetArchive": {k: _clean(v) for k, v in value.assets.items()}}


def _clean(value: Any) -> Any:
    if isinstance(value, pulumi.asset.Asset | pulumi.asset.Archive):
        return _asset(value)
    if isinstance(value, SecretValue):
        return {"secret": _clean(value.value)}
    if isinstance(value, dict):
        # The image's build argument: the commit of the API's source, whatever it is today.
        if "GIT_COMMIT" in value:
            value = {**value, "GIT_COMMIT": "<api source commit>"}
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_clean(v) for v in value]
    if isinstance(value, str):
        # The image tag is a hash of the API's source and its commit (image.source_tag): the
        # graph's shape does not change when the API's code does.
        return SOURCE_TAG.sub(
            "src-<api source hash>-<commit>", value.replace(str(REPO_ROOT), "<repo>")
        )
    return value


def snapshot(graph: Graph) -> dict[str, Any]:
    return {
        "resources": {
            r.urn: {
                "type": r.type,
                "name": r.name,
                "custom": r.custom,
                "parent": r.parent,
                "provider": r.provider.rsplit("::", 1)[0],
                "inputs": _clean(r.inputs),
                "dependencies": sorted(r.dependencies),
                "protect": r.protect,
                "retain_on_delete": r.retain_on_delete,
                "ignore_changes": sorted(r.ignore_changes),
                "custom_timeouts": r.custom_timeouts,
            }
            for r in graph
        },
        "outputs": _clean(graph.stack_outputs),
    }


def write(out: Path, config_name: str) -> None:
    graph = record_program(CONFIGS[config_name], stack="test")
    out.write_text(json.dumps(snapshot(graph), indent=1, sort_keys=True, default=str) + "\n")


def main(argv: list[str]) -> int:
    if argv == ["--update"]:
        for config_name in CONFIGS:
            write(SNAPSHOTS / f"{config_name}.json", config_name)
        return 0
    write(Path(argv[0]), argv[1])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
