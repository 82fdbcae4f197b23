"""What a tier says about its own monitoring: its alarms and its dashboard widgets, as data.

Each tier component exposes ``alarms`` (``AlarmSpec`` on one metric, ``MathAlarmSpec`` on a
metric math expression) and ``dashboard_widgets`` (``DashboardWidget``) built from its own
resources; ``Observability`` turns them into CloudWatch alarms on the alerts topic and one
dashboard, without knowing any tier. An alarm's description is its reason (``why``), what to
look at first (``runbook``) and what to do next (``action``, required: a command, a setting or
a page section): the notification carries all three, and so does the alarms table of
docs/architecture.md, generated from the alarms. CloudWatch takes at most
``MAX_DESCRIPTION_CHARS`` of it (the API-model check of ``make plan`` holds every alarm to that).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import pulumi
import pulumi_aws as aws

from payments_infra.config import REQUIRED_REGION


@dataclass(frozen=True, kw_only=True)
class AlarmSpec:
    """One alarm: what it watches, when it fires, and why it exists."""

    name: str
    namespace: str
    metric: str
    dimensions: Mapping[str, pulumi.Input[str]]
    comparison: str
    threshold: float
    why: str
    action: str
    """What the on-call engineer does next: one or two concrete sentences (required)."""
    statistic: str = "Sum"
    period: int = 60
    evaluation_periods: int = 5
    treat_missing_data: str = "notBreaching"
    extended_statistic: str | None = None
    datapoints_to_alarm: int | None = None
    """M of the N evaluation periods that must breach; None: all of them."""
    runbook: str = ""
    """What the on-call engineer looks at first; empty for the alarms that predate it."""

    def __post_init__(self) -> None:
        _require_action(self.name, self.action)

    @property
    def description(self) -> str:
        return described(self.why, self.runbook, self.action)


@dataclass(frozen=True, kw_only=True)
class MetricQuery:
    """One metric a math alarm reads: ``id`` is its name in the expressions."""

    id: str
    namespace: str
    metric: str
    dimensions: Mapping[str, pulumi.Input[str]]
    stat: str


@dataclass(frozen=True, kw_only=True)
class Expression:
    """One metric math expression over the queries' ids (and earlier expressions' ids)."""

    id: str
    expression: str
    label: str


@dataclass(frozen=True, kw_only=True)
class MathAlarmSpec:
    """An alarm on a metric math expression: the last of ``expressions`` is what it watches.

    Every query shares the alarm's period (CloudWatch requires it); an alarm reads at most 10
    metrics, and is billed per metric it reads.
    """

    name: str
    metrics: Sequence[MetricQuery]
    expressions: Sequence[Expression]
    comparison: str
    threshold: float
    why: str
    action: str
    """What the on-call engineer does next: one or two concrete sentences (required)."""
    runbook: str = ""
    period: int = 60
    evaluation_periods: int = 5
    datapoints_to_alarm: int | None = None
    treat_missing_data: str = "notBreaching"

    def __post_init__(self) -> None:
        _require_action(self.name, self.action)

    @property
    def description(self) -> str:
        return described(self.why, self.runbook, self.action)


Alarm = AlarmSpec | MathAlarmSpec

# Between an alarm's reason and its runbook line in the description.
RUNBOOK_LEAD = " Look first: "
# Between the reason (and runbook) and the action.
ACTION_LEAD = " Action: "
# PutMetricAlarm's AlarmDescription: 0 to 1024 characters (botocore's model).
MAX_DESCRIPTION_CHARS = 1024


def _require_action(name: str, action: str) -> None:
    if not action.strip():
        raise ValueError(f"alarm {name}: action must say what the on-call engineer does next")


def described(why: str, runbook: str, action: str) -> str:
    """An alarm's description: why it exists, what to look at first, what to do next."""
    reason = f"{why}{RUNBOOK_LEAD}{runbook}" if runbook else why
    return f"{reason}{ACTION_LEAD}{action}"


def split_description(description: str) -> tuple[str, str]:
    """A description's reason (with its runbook line) and its action: ``("...", "")`` when it
    has no action."""
    reason, _, action = description.partition(ACTION_LEAD)
    return reason, action


# A dashboard row: namespace, metric, dimension name/value pairs, and optionally CloudWatch's
# rendering options last ({"stat": "p99", "id": "m1", "visible": false, ...}); or a row with
# only options, {"expression": ..., "label": ..., "id": ...}, for metric math.
MetricRow = Sequence[pulumi.Input[str] | Mapping[str, Any]]


@dataclass(frozen=True, kw_only=True)
class DashboardWidget:
    """One metric graph: CloudWatch's ``metrics`` rows (namespace, metric, dimension pairs)."""

    title: str
    metrics: Sequence[MetricRow] = field(default_factory=list)
    stat: str = "Sum"
    region: str = REQUIRED_REGION
    width: int = 12
    """Of the dashboard's 24 columns: 6 puts four graphs in a row."""

    def definition(self) -> dict[str, Any]:
        """The widget as the dashboard body holds it (values may still be Outputs)."""
        return {
            "type": "metric",
            "width": self.width,
            "height": 6,
            "properties": {
                "title": self.title,
                "metrics": [list(row) for row in self.metrics],
                "stat": self.stat,
                "period": 60,
                "region": self.region,
                "view": "timeSeries",
            },
        }


def dashboard_body(widgets: Sequence[DashboardWidget]) -> pulumi.Output[str]:
    """The dashboard's JSON, once every name and id in the widgets is known."""
    body = pulumi.Output.from_input({"widgets": [w.definition() for w in widgets]})
    return body.apply(json.dumps)


class Watched(Protocol):
    """A tier as the watching pieces see it: what to alarm on, graph and archive."""

    @property
    def alarms(self) -> Sequence[Alarm]: ...

    @property
    def dashboard_widgets(self) -> Sequence[DashboardWidget]: ...

    @property
    def log_groups(self) -> Sequence[aws.cloudwatch.LogGroup]: ...
