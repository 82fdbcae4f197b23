"""The API's own CloudWatch metrics, as the API declares them in one file, for the stack to watch.

The API writes its metrics in CloudWatch's Embedded Metric Format on its request log lines
(stdout, the awslogs driver, ``/ecs/api-{suffix}``); CloudWatch Logs extracts them into the
namespace the file names. ``app/api/payments_api/metrics.json`` declares that namespace, the
dimensions and every metric (name, unit, dimension sets): the API emits from it, and the stack's
alarms and dashboard read it through ``declared()`` here, so the two cannot drift apart.

What the stack needs from the file is named once, in ``_METRIC_ROLES`` and
``_DIMENSION_ROLES``: which declared metric counts requests, which times them, and so on.
``load()`` refuses a file that lacks one of them, with the file and the name in the message,
so a metric renamed on one side only fails the preview instead of leaving an alarm that
never gets data. Nothing else in the program spells a metric name or the namespace.

EMF makes one metric per dimension set the log line declares, and only those: an alarm on
another combination of dimensions would watch a metric that never exists.
``DeclaredMetric.dimensions`` hands out a metric's dimensions only for a declared set.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from payments_infra import REPO_ROOT

METRICS_FILE = REPO_ROOT / "app" / "api" / "payments_api" / "metrics.json"

# The values the stack puts in the API's dimensions. Low-cardinality by design: the route the
# business alarms watch (a route template and its method, as the API writes it) and the
# status classes. tests/unit/test_business_metrics.py holds them to the API's routes and to
# the file's description of the dimension.
PAYMENT_ROUTE = "POST /api/payments"
STATUS_CLASSES = ("2xx", "3xx", "4xx", "5xx")

# role -> the name metrics.json declares it under: the one place these names are written.
_METRIC_ROLES = {
    "requests": "Requests",
    "latency": "Latency",
    "server_errors": "ServerErrors",
    "payments_created": "PaymentsCreated",
    "payments_replayed": "PaymentsReplayed",
    "payments_conflicted": "PaymentsConflicted",
    "auth_failures": "AuthFailures",
    "requests_refused": "RequestsRefused",
    "database_latency": "DatabaseLatency",
    "pool_wait": "PoolWait",
}
_DIMENSION_ROLES = {"route": "Route", "status_class": "StatusClass"}


class MetricsFileError(ValueError):
    """metrics.json is missing, malformed, or lacks what the stack watches."""


@dataclass(frozen=True)
class DeclaredMetric:
    """One metric of the file: its name, unit and the dimension sets the API emits it with."""

    namespace: str
    name: str
    unit: str
    dimension_sets: tuple[tuple[str, ...], ...]
    description: str

    def dimensions(self, values: Mapping[str, str]) -> dict[str, str]:
        """``values`` as this metric's dimensions, if their names are one declared set
        (``{}`` for the metric without dimensions); ValueError otherwise."""
        if frozenset(values) not in {frozenset(s) for s in self.dimension_sets}:
            declared = " or ".join(f"[{', '.join(s)}]" for s in self.dimension_sets)
            raise ValueError(
                f"{self.name} is emitted with the dimensions {declared} only "
                f"({METRICS_FILE.name}); [{', '.join(values)}] would watch a metric that "
                "never exists"
            )
        return dict(values)


@dataclass(frozen=True)
class ApiMetrics:
    """The declared namespace, dimension names and the metrics the stack watches."""

    namespace: str
    route: str
    """The name of the route dimension."""
    status_class: str
    """The name of the status-class dimension."""
    requests: DeclaredMetric
    latency: DeclaredMetric
    server_errors: DeclaredMetric
    payments_created: DeclaredMetric
    payments_replayed: DeclaredMetric
    payments_conflicted: DeclaredMetric
    auth_failures: DeclaredMetric
    requests_refused: DeclaredMetric
    database_latency: DeclaredMetric
    pool_wait: DeclaredMetric
    all_metrics: tuple[DeclaredMetric, ...]
    """Every metric the file declares, watched or not (the cost estimate counts them all)."""
    dimension_descriptions: Mapping[str, str]


def load(path: Path = METRICS_FILE) -> ApiMetrics:
    """Read and check the file; MetricsFileError naming the file and what is wrong."""
    try:
        document = json.loads(path.read_text())
    except (OSError, ValueError) as error:
        raise MetricsFileError(f"{path}: {error}") from error
    try:
        return _parse(document)
    except (KeyError, TypeError, ValueError) as error:
        raise MetricsFileError(f"{path}: {error}") from error


@functools.cache
def declared() -> ApiMetrics:
    """The metrics as ``METRICS_FILE`` declares them (read once)."""
    return load(METRICS_FILE)


def _parse(document: dict[str, Any]) -> ApiMetrics:
    namespace = document["namespace"]
    if not isinstance(namespace, str) or not namespace or namespace.startswith("AWS/"):
        raise ValueError(f"namespace must be a custom namespace; got {namespace!r}")
    dimension_descriptions = dict(document["dimensions"])
    for role, name in _DIMENSION_ROLES.items():
        if name not in dimension_descriptions:
            raise ValueError(f'no dimension "{name}" declared (the stack uses it as {role})')
    metrics = {
        name: _metric(namespace, name, entry, dimension_descriptions)
        for name, entry in document["metrics"].items()
    }
    watched: dict[str, DeclaredMetric] = {}
    for role, name in _METRIC_ROLES.items():
        if name not in metrics:
            raise ValueError(f'no metric "{name}" declared (the stack watches it as {role})')
        watched[role] = metrics[name]
    return ApiMetrics(
        namespace=namespace,
        route=_DIMENSION_ROLES["route"],
        status_class=_DIMENSION_ROLES["status_class"],
        all_metrics=tuple(metrics.values()),
        dimension_descriptions=dimension_descriptions,
        **watched,
    )


def _metric(
    namespace: str, name: str, entry: dict[str, Any], dimensions: Mapping[str, str]
) -> DeclaredMetric:
    sets = tuple(tuple(s) for s in entry["dimensions"])
    if not sets:
        raise ValueError(f"{name} declares no dimension set")
    for dimension_set in sets:
        unknown = [d for d in dimension_set if d not in dimensions]
        if unknown:
            raise ValueError(f"{name} uses undeclared dimensions {unknown}")
    return DeclaredMetric(
        namespace=namespace,
        name=name,
        unit=str(entry["unit"]),
        dimension_sets=sets,
        description=str(entry.get("description", "")),
    )
