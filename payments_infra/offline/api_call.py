"""One row of the reviewed table of AWS API calls (``api_calls.py``): the botocore service and
operations that create a resource type, and where its inputs sit in their input shapes.

An override in ``members`` maps an input path (list indices left out) to
``"Operation:Member.Path"`` (the first operation when the prefix is left out), or to None for
an input the provider keeps to itself.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class ApiCall:
    service: str
    """botocore's service name (``elbv2``, ``wafv2``...)."""
    operations: tuple[str, ...]
    """The calls whose input shapes hold the resource's inputs, the create call first."""
    members: dict[str, str | None] = field(default_factory=dict)
    """Input path -> "Operation:Member.Path" where normalised names do not find it."""
    roots: dict[str, str] = field(default_factory=dict)
    """Operation -> the member under which that call takes the top-level inputs."""
