"""The operators' policies of a stack as the tests write them (operator_policies.py), and
queries over their statements: which allow an action, on which resource."""

from __future__ import annotations

import fnmatch
from collections.abc import Iterator
from typing import Any

from payments_infra.offline import operator_policies as op
from payments_infra.offline.graph import Graph
from payments_infra.offline.state_backend import Backend
from tests.stacks import SUFFIX

ACCOUNT = "123456789012"
S3_BACKEND = Backend("s3://org-pulumi-state/payments?region=us-east-1", "PULUMI_BACKEND_URL")
KMS_ALIAS = "awskms://alias/pulumi-state?region=us-east-1"


def operator_stack(
    graph: Graph, account: str = ACCOUNT, backend: Backend | None = S3_BACKEND
) -> op.Stack:
    """The stack the policies are written for: ``graph`` under the tests' suffix, in
    ``account``, its state on ``backend`` with a KMS alias as its secrets provider."""
    return op.Stack(graph, SUFFIX, account, backend, KMS_ALIAS if backend else None)


def statements_of(policy: op.Policy) -> Iterator[dict[str, Any]]:
    """Each statement of ``policy``."""
    yield from policy["Statement"]


def _matches(patterns: list[str], value: str) -> bool:
    return any(fnmatch.fnmatchcase(value.lower(), p.lower()) for p in patterns)


def allowing(policy: op.Policy, action: str, resource: str | None = None) -> list[str]:
    """The statements of ``policy`` that allow ``action`` (on ``resource``, when given)."""
    return [
        s["Sid"]
        for s in statements_of(policy)
        if _matches(s["Action"], action) and (resource is None or _matches(s["Resource"], resource))
    ]


def actions_of(policy: op.Policy) -> set[str]:
    """Every action any statement of ``policy`` names."""
    return {action for s in statements_of(policy) for action in s["Action"]}
