"""The recorded resource graph: what the program registered, as plain data.

``offline/mocks.py`` fills it by running the program under mocks; the graph-wide checks, the
offline plan, the cost estimate, the policy pack and the tests query it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any


class SecretValue:
    """A value the program marked secret; recorded so tests can prove it stayed secret."""

    def __init__(self, value: Any) -> None:
        self.value = value

    def __repr__(self) -> str:
        return "SecretValue([secret])"


def revealed(value: Any) -> Any:
    """``value`` with every secret in it replaced by what it holds, for a check that must read
    a whole input the engine marked secret because one part of it is (a CloudFront origin
    with its secret header). Never print or store the result."""
    if isinstance(value, SecretValue):
        return revealed(value.value)
    if isinstance(value, dict):
        return {key: revealed(item) for key, item in value.items()}
    if isinstance(value, list):
        return [revealed(item) for item in value]
    return value


@dataclass
class Resource:
    """One registered resource, as the engine would see it."""

    urn: str
    type: str
    name: str
    custom: bool
    parent: str
    provider: str
    inputs: dict[str, Any]
    outputs: dict[str, Any] = field(default_factory=dict)
    id: str = ""
    dependencies: list[str] = field(default_factory=list)
    protect: bool = False
    retain_on_delete: bool = False
    ignore_changes: list[str] = field(default_factory=list)
    # Operation -> duration as Pulumi writes it ("20m"), for the operations that set one.
    custom_timeouts: dict[str, str] = field(default_factory=dict)
    # The URNs this resource was known by before (its aliases), so a move keeps the resource.
    aliases: list[str] = field(default_factory=list)
    # The URNs whose replacement replaces this resource too (the ``replace_with`` option).
    replace_with: list[str] = field(default_factory=list)

    @property
    def tags(self) -> dict[str, str]:
        """AWS tags (a docker-build Image's ``tags`` are image names, not a mapping)."""
        tags = self.inputs.get("tags")
        return dict(tags) if isinstance(tags, dict) else {}

    @property
    def physical_name(self) -> str | None:
        """The name AWS will show: the ``name`` input, else the ``Name`` tag."""
        name = self.inputs.get("name")
        return name if isinstance(name, str) else self.tags.get("Name")


@dataclass
class Graph:
    """Every resource the program registered, in registration order, the stack outputs, and
    the warnings the program logged (``pulumi.log.warn``: what ``pulumi up`` would show)."""

    resources: list[Resource]
    stack_outputs: dict[str, Any]
    warnings: list[str] = field(default_factory=list)

    def __iter__(self) -> Iterator[Resource]:
        return iter(self.resources)

    def of_type(self, type_token: str) -> list[Resource]:
        return [r for r in self.resources if r.type == type_token]

    def by_urn(self, urn: str) -> Resource:
        return next(r for r in self.resources if r.urn == urn)

    def by_id(self, resource_id: str) -> Resource:
        """The resource whose (placeholder) id another resource's input refers to."""
        return next(r for r in self.resources if r.custom and r.id == resource_id)

    def provider_of(self, resource: Resource) -> Resource | None:
        """The provider resource a custom resource is registered with (None: default)."""
        if not resource.provider:
            return None
        urn = resource.provider.rsplit("::", 1)[0]
        return self.by_urn(urn)

    def component_of(self, resource: Resource) -> str:
        """The logical name of the nearest enclosing component, for grouping in reports."""
        known = {r.urn: r for r in self.resources}
        parent = resource.parent
        while parent in known:  # the Stack itself is not recorded: the walk ends there
            owner = known[parent]
            if not owner.custom:
                return owner.name
            parent = owner.parent
        return "(stack)"

    def without(self, *urns: str) -> Graph:
        """A copy without some resources: for tests that a check notices what is missing."""
        return Graph(
            [r for r in self.resources if r.urn not in urns],
            dict(self.stack_outputs),
            list(self.warnings),
        )
