"""Application metrics in CloudWatch's Embedded Metric Format (EMF), on the request log lines.

The names, units and dimension sets are declared once, in `metrics.json` next to this module
(the stack's alarms and dashboard read the same file); this module loads it, refuses to start
if it declares a metric or dimension the API does not compute (or misses one it does), and
builds, per request, the members CloudWatch Logs turns into metrics: the `_aws` metadata
(Timestamp, and one MetricDirective per distinct set of dimension sets) and, as top-level
members, each metric's value and each dimension's value. No agent and no PutMetricData call:
CloudWatch Logs extracts them from the line the API writes anyway.

Written directly, not with the aws-embedded-metrics library: the format is a few fixed keys,
the directives are the same on every line (serialised once, here, at import), and the request
line already exists; the library would add a dependency, its own logger and flush cycle, and
its per-call validation on the hot path.

Dimensions come from closed sets only: Route is the matched route's template and method
(`POST /api/payments`, `GET /api/payments/{payment_id}`), never the requested path, and
`other` for anything the router did not match (404s, a method the route does not take, and
what a middleware answered before routing); StatusClass is `1xx`..`5xx`. No value is ever a
client id, a key, an id, a reference or anything else the client sent.

Database timings (DatabaseLatency, PoolWait) are summed per request by `DatabasePool.run` into
the `RequestTiming` the request log middleware puts in a context variable; a request that did
not use the database has neither (a zero would drag their averages and percentiles down).
Every other metric is on every line, counts as 0 or 1, so a Sum is the number of requests and
an alarm sees 0, not missing data, while requests arrive.
"""

from __future__ import annotations

import json
from contextvars import ContextVar, Token
from importlib import resources
from typing import Any

import orjson
from starlette.types import Scope

CONTRACT_FILE = "metrics.json"
OTHER_ROUTE = "other"
# The create handler names its outcome here (request.state.payment_outcome): a store.Outcome
# value, "created", "replayed" or "key_reused".
PAYMENT_OUTCOME_STATE = "payment_outcome"
REFUSED_STATUSES = frozenset({400, 413, 422, 431})
"""Malformed or too large: 400 and 431 come from the HTTP protocol (http_protocol.py), 400 (a
repeated header), 413 and 431 from RequestGuardsMiddleware, 422 from validation."""

# What this module computes: the contract must declare exactly these.
DIMENSIONS = ("Route", "StatusClass")
METRICS = (
    "Requests",
    "Latency",
    "ServerErrors",
    "PaymentsCreated",
    "PaymentsReplayed",
    "PaymentsConflicted",
    "AuthFailures",
    "RequestsRefused",
    "DatabaseLatency",
    "PoolWait",
)
# Metrics only on lines that measured them (in this order: bits 1, 2 and 4 of the variant).
OPTIONAL_METRICS = ("Latency", "DatabaseLatency", "PoolWait")
_OUTCOME_METRICS = {
    "created": "PaymentsCreated",
    "replayed": "PaymentsReplayed",
    "key_reused": "PaymentsConflicted",
}
_STATUS_CLASSES = ("1xx", "2xx", "3xx", "4xx", "5xx")

# CloudWatch's units (MetricDatum) and the format's bounds.
UNITS = frozenset(
    {
        "Seconds",
        "Microseconds",
        "Milliseconds",
        "Bytes",
        "Kilobytes",
        "Megabytes",
        "Gigabytes",
        "Terabytes",
        "Bits",
        "Kilobits",
        "Megabits",
        "Gigabits",
        "Terabits",
        "Percent",
        "Count",
        "Bytes/Second",
        "Kilobytes/Second",
        "Megabytes/Second",
        "Gigabytes/Second",
        "Terabytes/Second",
        "Bits/Second",
        "Kilobits/Second",
        "Megabits/Second",
        "Gigabits/Second",
        "Terabits/Second",
        "Count/Second",
        "None",
    }
)
MAX_DIMENSIONS_PER_SET = 30
MAX_METRICS_PER_DIRECTIVE = 100


def load_contract() -> dict[str, Any]:
    """metrics.json, from the package (a directory in the image, next to this module)."""
    text = resources.files("payments_api").joinpath(CONTRACT_FILE).read_text(encoding="utf-8")
    contract: dict[str, Any] = json.loads(text)
    return contract


def check_contract(contract: dict[str, Any]) -> None:
    """Raise ValueError unless the contract declares exactly what this module emits, in a
    shape EMF accepts."""
    namespace = contract.get("namespace")
    if not isinstance(namespace, str) or not namespace:
        raise ValueError("metrics.json: no namespace")
    if set(contract["dimensions"]) != set(DIMENSIONS):
        raise ValueError(
            f"metrics.json declares dimensions {sorted(contract['dimensions'])}, "
            f"the API emits {sorted(DIMENSIONS)}"
        )
    if set(contract["metrics"]) != set(METRICS):
        raise ValueError(
            f"metrics.json declares metrics {sorted(contract['metrics'])}, "
            f"the API emits {sorted(METRICS)}"
        )
    for name, metric in contract["metrics"].items():
        if metric["unit"] not in UNITS:
            raise ValueError(f"metrics.json: {name}: {metric['unit']!r} is not a CloudWatch unit")
        if not metric["dimensions"]:
            raise ValueError(f"metrics.json: {name}: no dimension set (use [[]] for none)")
        for dimension_set in metric["dimensions"]:
            if len(dimension_set) > MAX_DIMENSIONS_PER_SET or not set(dimension_set) <= set(
                DIMENSIONS
            ):
                raise ValueError(f"metrics.json: {name}: bad dimension set {dimension_set}")


def directives(contract: dict[str, Any], present: frozenset[str]) -> list[dict[str, Any]]:
    """The MetricDirectives for a line carrying the metrics `present`: one per distinct list
    of dimension sets (a directive's dimension sets apply to all its metrics), with at most
    100 metrics each, in the contract's order."""
    groups: dict[str, list[dict[str, str]]] = {}
    for name, metric in contract["metrics"].items():
        if name in present:
            key = json.dumps(metric["dimensions"])
            groups.setdefault(key, []).append({"Name": name, "Unit": metric["unit"]})
    return [
        {
            "Namespace": contract["namespace"],
            "Dimensions": json.loads(key),
            "Metrics": metrics[start : start + MAX_METRICS_PER_DIRECTIVE],
        }
        for key, metrics in groups.items()
        for start in range(0, len(metrics), MAX_METRICS_PER_DIRECTIVE)
    ]


CONTRACT = load_contract()
check_contract(CONTRACT)
NAMESPACE: str = CONTRACT["namespace"]

# Every line's CloudWatchMetrics, serialised once per combination of the optional metrics.
_ALWAYS = frozenset(METRICS) - frozenset(OPTIONAL_METRICS)
_DIRECTIVES: list[orjson.Fragment] = []
for _flags in range(2 ** len(OPTIONAL_METRICS)):
    _present = _ALWAYS | {m for bit, m in enumerate(OPTIONAL_METRICS) if _flags & (1 << bit)}
    _DIRECTIVES.append(orjson.Fragment(orjson.dumps(directives(CONTRACT, _present))))
del _flags, _present


class RequestTiming:
    """A request's database time, in milliseconds (None: not measured), and the deadline of
    its database work (time.monotonic(); None until its first wait: payments_api.db)."""

    __slots__ = ("database_deadline", "database_ms", "pool_wait_ms")

    def __init__(self) -> None:
        self.database_ms: float | None = None
        self.pool_wait_ms: float | None = None
        self.database_deadline: float | None = None

    def add_pool_wait(self, seconds: float) -> None:
        self.pool_wait_ms = (self.pool_wait_ms or 0.0) + seconds * 1000

    def add_database(self, seconds: float) -> None:
        self.database_ms = (self.database_ms or 0.0) + seconds * 1000


_request_timing: ContextVar[RequestTiming | None] = ContextVar("request_timing", default=None)


def start_request_timing() -> tuple[RequestTiming, Token[RequestTiming | None]]:
    """A new timing for the request that runs in this context (its task), and the token that
    ends it (`end_request_timing`)."""
    timing = RequestTiming()
    return timing, _request_timing.set(timing)


def end_request_timing(token: Token[RequestTiming | None]) -> None:
    _request_timing.reset(token)


def request_timing() -> RequestTiming | None:
    """The timing of the request running in this context, if any (none at start-up)."""
    return _request_timing.get()


def route_of(scope: Scope) -> str:
    """`METHOD /template` of the route the router matched, or `other`. A partial match (the
    path fits but the route does not take the method: 405) is `other` too, so the method,
    which the client chooses, is always one the route declares. The template is the route's
    own path, with its APIRouter's prefix (a prefix given to include_router would be missing:
    tests/test_metrics.py holds every value to the paths the app serves)."""
    route = scope.get("route")
    if route is None:
        return OTHER_ROUTE
    methods = getattr(route, "methods", None)
    method = scope["method"]
    if not methods or method not in methods:
        return OTHER_ROUTE
    return f"{method} {route.path}"


def _counts(status: int, outcome: str | None) -> dict[str, Any]:
    """StatusClass and the count metrics of a response, the same for every line with this
    status and outcome: built once each (the statuses are the app's, a few dozen at most)."""
    counts: dict[str, Any] = {
        "StatusClass": _STATUS_CLASSES[min(max(status // 100, 1), 5) - 1],
        "Requests": 1,
        "ServerErrors": 1 if status >= 500 else 0,
        "PaymentsCreated": 0,
        "PaymentsReplayed": 0,
        "PaymentsConflicted": 0,
        "AuthFailures": 1 if status == 401 else 0,
        "RequestsRefused": 1 if status in REFUSED_STATUSES else 0,
    }
    if outcome in _OUTCOME_METRICS:
        counts[_OUTCOME_METRICS[outcome]] = 1
    if len(_COUNTS) < _MAX_COUNTS:
        _COUNTS[status, outcome] = counts
    return counts


_COUNTS: dict[tuple[int, str | None], dict[str, Any]] = {}
_MAX_COUNTS = 1000


def emf_members(
    now: float,
    route: str,
    status: int,
    latency_ms: float | None,
    *,
    outcome: str | None = None,
    timing: RequestTiming | None = None,
) -> dict[str, Any]:
    """The request line's EMF members: `_aws` (Timestamp `now`, in ms, and the directives),
    the dimension values and the metric values."""
    members = (_COUNTS.get((status, outcome)) or _counts(status, outcome)).copy()
    members["Route"] = route
    variant = 0
    if latency_ms is not None:
        members["Latency"] = latency_ms
        variant = 1
    if timing is not None:
        if timing.database_ms is not None:
            members["DatabaseLatency"] = round(timing.database_ms, 3)
            variant |= 2
        if timing.pool_wait_ms is not None:
            members["PoolWait"] = round(timing.pool_wait_ms, 3)
            variant |= 4
    members["_aws"] = {"Timestamp": int(now * 1000), "CloudWatchMetrics": _DIRECTIVES[variant]}
    return members
