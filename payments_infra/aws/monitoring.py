"""What a tier says about its own monitoring: its alarms and its dashboard widgets, as data.

Each tier component exposes ``alarms`` (``AlarmSpec``) and ``dashboard_widgets``
(``DashboardWidget``) built from its own resources; ``Observability`` turns them into
CloudWatch alarms on the alerts topic and one dashboard, without knowing any tier.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import pulumi
import pulumi_aws as aws

from payments_infra.config import REQUIRED_REGION


@dataclass(frozen=True)
class AlarmSpec:
    """One alarm: what it watches, when it fires, and why it exists."""

    name: str
    namespace: str
    metric: str
    dimensions: Mapping[str, pulumi.Input[str]]
    comparison: str
    threshold: float
    why: str
    statistic: str = "Sum"
    period: int = 60
    evaluation_periods: int = 5
    treat_missing_data: str = "notBreaching"
    extended_statistic: str | None = None


@dataclass(frozen=True)
class DashboardWidget:
    """One metric graph: CloudWatch's ``metrics`` rows (namespace, metric, dimension pairs)."""

    title: str
    metrics: Sequence[Sequence[pulumi.Input[str]]] = field(default_factory=list)
    stat: str = "Sum"
    region: str = REQUIRED_REGION

    def definition(self) -> dict[str, Any]:
        """The widget as the dashboard body holds it (values may still be Outputs)."""
        return {
            "type": "metric",
            "width": 12,
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
    def alarms(self) -> Sequence[AlarmSpec]: ...

    @property
    def dashboard_widgets(self) -> Sequence[DashboardWidget]: ...

    @property
    def log_groups(self) -> Sequence[aws.cloudwatch.LogGroup]: ...
