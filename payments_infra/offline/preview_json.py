"""What `pulumi preview --json` prints, read into plain data for the preview gate.

The document (pulumi/pulumi ``sdk/pkg/display/json.go``, ``PreviewDigest``): ``steps``, each
with ``op``, ``urn``, ``oldState``/``newState``, ``diffReasons``, ``replaceReasons`` and
``detailedDiff``; ``diagnostics``; ``changeSummary``. Anything else is a ``PreviewError``
that says how it differs.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


class PreviewError(Exception):
    """The input is not what `pulumi preview --json` prints; the message says how."""


@dataclass(frozen=True)
class Step:
    """One step of the preview: what happens to which resource, and because of what."""

    op: str
    urn: str
    type: str
    name: str
    """The logical name, the URN's last part: what CONFIRM_REPLACE takes."""
    reasons: tuple[str, ...]
    """The properties that cause it: ``replaceReasons``, else ``diffReasons``."""
    changes: Mapping[str, tuple[Any, Any]]
    """Property -> (old input, new input), for the reasons whose values both states show."""


@dataclass(frozen=True)
class Preview:
    """What the gate reads from a preview document."""

    steps: tuple[Step, ...]
    errors: tuple[str, ...]
    warnings: tuple[str, ...]
    summary: Mapping[str, int]


def parse_urn(urn: str) -> tuple[str, str]:
    """(type, logical name) of ``urn:pulumi:<stack>::<project>::<parent$...$type>::<name>``."""
    parts = urn.split("::", 3)
    if len(parts) != 4 or not parts[0].startswith("urn:pulumi:") or not parts[3]:
        raise PreviewError(f"{urn!r} is not a Pulumi URN")
    return parts[2].rsplit("$", 1)[-1], parts[3]


def _inputs(state: Any) -> Mapping[str, Any]:
    inputs = state.get("inputs") if isinstance(state, dict) else None
    return inputs if isinstance(inputs, dict) else {}


def _step(index: int, raw: Any) -> Step:
    if not isinstance(raw, dict):
        raise PreviewError(f"steps[{index}] is not an object")
    op, urn = raw.get("op"), raw.get("urn")
    if not isinstance(op, str) or not isinstance(urn, str):
        raise PreviewError(f"steps[{index}] has no op and urn strings")
    try:
        type_, name = parse_urn(urn)
    except PreviewError as error:
        raise PreviewError(f"steps[{index}]: {error}") from None
    reasons = raw.get("replaceReasons") or raw.get("diffReasons") or []
    if not isinstance(reasons, list) or not all(isinstance(r, str) for r in reasons):
        raise PreviewError(f"steps[{index}] has reasons that are not a list of property names")
    old, new = _inputs(raw.get("oldState")), _inputs(raw.get("newState"))
    changes = {key: (old[key], new[key]) for key in reasons if key in old and key in new}
    return Step(op, urn, type_, name, tuple(reasons), changes)


def read_preview(text: str) -> Preview:
    """The steps, error and warning diagnostics and change summary of a preview document."""
    try:
        document = json.loads(text)
    except ValueError as error:
        raise PreviewError(f"not JSON ({error})") from None
    if not isinstance(document, dict):
        raise PreviewError("not a JSON object with steps")
    raw_steps = document.get("steps", [])  # omitted when empty (omitempty)
    if not isinstance(raw_steps, list):
        raise PreviewError("steps is not a list")
    diagnostics = document.get("diagnostics") or []
    if not isinstance(diagnostics, list):
        raise PreviewError("diagnostics is not a list")
    messages: dict[str, list[str]] = {"error": [], "warning": []}
    for diagnostic in diagnostics:
        if isinstance(diagnostic, dict) and diagnostic.get("severity") in messages:
            messages[diagnostic["severity"]].append(str(diagnostic.get("message", "")).strip())
    summary = document.get("changeSummary") or {}
    if not isinstance(summary, dict):
        raise PreviewError("changeSummary is not an object")
    return Preview(
        tuple(_step(i, raw) for i, raw in enumerate(raw_steps)),
        tuple(messages["error"]),
        tuple(messages["warning"]),
        {str(op): int(count) for op, count in summary.items() if isinstance(count, int)},
    )
