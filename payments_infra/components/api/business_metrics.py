"""The API's business metrics, watched: five alarms and the dashboard's business row.

The API writes its own metrics in CloudWatch's Embedded Metric Format on the request log lines
it already writes (the awslogs driver sends them to ``/ecs/api-{suffix}``, and CloudWatch Logs
extracts the metrics; no agent, no PutMetricData). Their namespace, names, units and dimension
sets come from ``app/api/payments_api/metrics.json`` through ``api_metrics.py``: nothing
here spells them, and every dimension set used is one the file declares for the metric (EMF
makes those and no others).

Alarms (``ApiService`` exposes them with its own):

- ``alarm-no-payments``: POSTs to the payment route keep arriving with a valid API key and
  none creates a payment, for 3 periods of 5 minutes in a row. Missing data is not breaching
  and so is an idle night: no POSTs, no alarm.
- ``alarm-api-error-rate``: 5xx responses over 5% of all requests in 3 of 5 minutes.
- ``alarm-api-p99``: the payment POST's p99 over 500 ms for 3 minutes in a row.
- ``alarm-auth-failures``: more than 100 requests refused for want of a valid API key in
  5 minutes.
- ``alarm-api-metrics-missing``: the ALB passes requests on and the API's metrics have none,
  for 15 minutes: the other four would stay silent (missing data is not breaching), so this
  one watches the metrics themselves (an image that writes no EMF, a namespace that differs,
  lines CloudWatch Logs cannot extract).

Thresholds and why: docs/architecture.md, "Business metrics".
"""

from __future__ import annotations

from collections.abc import Mapping

import pulumi

from payments_infra.aws.monitoring import (
    Alarm,
    AlarmSpec,
    DashboardWidget,
    Expression,
    MathAlarmSpec,
    MetricQuery,
    MetricRow,
)
from payments_infra.components.api import api_metrics
from payments_infra.components.api.api_metrics import (
    PAYMENT_ROUTE,
    STATUS_CLASSES,
    ApiMetrics,
    DeclaredMetric,
)
from payments_infra.config.naming import Names, physical_name

# alarm-no-payments: POSTs with a valid key per 5 minutes below which "none created" is not
# yet a signal (one stray bad request at night is not an outage), and how long it must last.
NO_PAYMENTS_PERIOD_SECONDS = 300
NO_PAYMENTS_PERIODS = 3
MIN_POST_ATTEMPTS = 5
# alarm-api-error-rate: 5xx as a share of every request (health checks included).
ERROR_RATE_PERCENT = 5.0
ERROR_RATE_PERIODS = 5
ERROR_RATE_TO_ALARM = 3
# alarm-api-p99: 10x the benchmark's target for a POST's p99 (50 ms, docs/performance.md).
P99_BUDGET_MS = 500.0
P99_PERIODS = 3
# alarm-auth-failures: 401s per 5 minutes.
AUTH_FAILURES_PER_5_MINUTES = 100.0
# alarm-api-metrics-missing: requests the ALB forwards per 5 minutes that must show in the
# API's metrics.
MIN_ALB_REQUESTS = 10

# Arithmetic counts a missing point as 0: no 5xx is 0%; no request divides by zero, which
# drops the point.
ERROR_RATE = "100 * errors / requests"


def _metrics(metrics: ApiMetrics | None) -> ApiMetrics:
    return metrics if metrics is not None else api_metrics.declared()


def business_alarms(
    suffix: str, target: Mapping[str, pulumi.Input[str]], metrics: ApiMetrics | None = None
) -> list[Alarm]:
    """The business alarms, on the metrics ``metrics`` (default: the API's file); ``target``
    is the ALB's target group as its metrics name it (LoadBalancer, TargetGroup)."""
    m = _metrics(metrics)
    logs = physical_name(Names.api_log_group, suffix)
    return [
        no_payments_alarm(m, suffix),
        error_rate_alarm(m, suffix),
        metrics_missing_alarm(m, suffix, target),
        AlarmSpec(
            name=physical_name(Names.alarm_api_p99, suffix),
            namespace=m.namespace,
            metric=m.latency.name,
            dimensions=m.latency.dimensions({m.route: PAYMENT_ROUTE}),
            comparison="GreaterThanThreshold",
            threshold=P99_BUDGET_MS,
            why=f"The payment POST's p99 over {P99_BUDGET_MS:g} ms for {P99_PERIODS} minutes "
            "(the benchmark's is 5-6 ms): checkouts hang.",
            extended_statistic="p99",
            evaluation_periods=P99_PERIODS,
            action="Add capacity where the time goes: payments:dbMaxCapacity for Aurora (make up, "
            "applied in place), payments:apiCpu or more tasks for the API (docs/deploy.md, "
            "On-call: capacity limits); a failover's spike passes by itself within minutes.",
            runbook=f"the business row's database time: {m.pool_wait.name} up means too few "
            f"connections or tasks (ECS CPU, running tasks), {m.database_latency.name} up "
            "means Aurora (CPU, capacity at dbMaxCapacity, locks, a failover).",
        ),
        AlarmSpec(
            name=physical_name(Names.alarm_auth_failures, suffix),
            namespace=m.namespace,
            metric=m.auth_failures.name,
            dimensions=m.auth_failures.dimensions({}),
            comparison="GreaterThanThreshold",
            threshold=AUTH_FAILURES_PER_5_MINUTES,
            why=f"Over {AUTH_FAILURES_PER_5_MINUTES:g} requests in 5 minutes refused for want of "
            "a valid API key: a client with a revoked key, or someone guessing keys.",
            period=300,
            evaluation_periods=1,
            action="One address with a revoked or rotated key: tell that client to use its "
            "current one (python -m payments_api.cli.api_keys list). Many addresses guessing: "
            "lower payments:wafRateLimit and make up (a rule added by hand is undone by the next "
            "up); a key that may be leaked: docs/deploy.md, On-call: compromised API key.",
            runbook=f"Logs Insights on {logs}: status 401 by path; the clients' addresses in "
            f"{physical_name(Names.alb_access_log_group, suffix)}. One address: a client whose "
            "key was revoked or rotated. Many: block them in the ALB's web ACL.",
        ),
    ]


def no_payments_alarm(m: ApiMetrics, suffix: str) -> MathAlarmSpec:
    """POSTs arrive, none creates a payment. Every status class counts (a deploy that answers
    every POST 422 or 409 creates nothing either); the 401s are taken off (all routes', so a
    little more than the POSTs': the cautious side), since they are the auth alarm's."""
    posts = [
        MetricQuery(
            id=f"post_{status_class}",
            namespace=m.namespace,
            metric=m.requests.name,
            dimensions=m.requests.dimensions(
                {m.route: PAYMENT_ROUTE, m.status_class: status_class}
            ),
            stat="Sum",
        )
        for status_class in STATUS_CLASSES
    ]
    attempts = " + ".join(q.id for q in posts) + " - auth"
    return MathAlarmSpec(
        name=physical_name(Names.alarm_no_payments, suffix),
        metrics=[
            *posts,
            MetricQuery(
                id="auth",
                namespace=m.namespace,
                metric=m.auth_failures.name,
                dimensions=m.auth_failures.dimensions({}),
                stat="Sum",
            ),
            MetricQuery(
                id="created",
                namespace=m.namespace,
                metric=m.payments_created.name,
                dimensions=m.payments_created.dimensions({}),
                stat="Sum",
            ),
        ],
        expressions=[
            Expression(
                id="attempts", expression=attempts, label=f"{PAYMENT_ROUTE} with a valid API key"
            ),
            # Arithmetic counts a missing point as 0, so "created" never sent reads as none.
            Expression(
                id="stalled",
                expression=f"IF(attempts >= {MIN_POST_ATTEMPTS}, 1, 0) - IF(created > 0, 1, 0)",
                label="1 when payments are attempted and none is created",
            ),
        ],
        comparison="GreaterThanOrEqualToThreshold",
        threshold=1,
        why=f"{MIN_POST_ATTEMPTS} or more payment POSTs with a valid key in each of "
        f"{NO_PAYMENTS_PERIODS} five-minute periods in a row, and not one payment created: "
        "payments have stopped.",
        period=NO_PAYMENTS_PERIOD_SECONDS,
        evaluation_periods=NO_PAYMENTS_PERIODS,
        action="After a deploy: roll back to the previous image (docs/deploy.md, Rolling back: "
        "the previous task definition revision at once, then payments:apiImageTag). POSTs "
        "failing 5xx: alarm-api-error-rate's action; one client's bad requests: contact it.",
        runbook="the business row: POSTs answered 5xx (the error-rate alarm, /readyz) or 4xx "
        f"({m.requests_refused.name}, {m.payments_conflicted.name}: bad bodies or reused "
        "keys from a client, or a deploy that broke validation); Logs Insights on "
        f"{physical_name(Names.api_log_group, suffix)}: {PAYMENT_ROUTE} lines by status; the last "
        "deploy.",
    )


def metrics_missing_alarm(
    m: ApiMetrics, suffix: str, target: Mapping[str, pulumi.Input[str]]
) -> MathAlarmSpec:
    """The ALB forwards requests to the API's target group (it counts them, not its health
    checks) and the API's own count has nothing: while tasks run, the health checks alone
    keep that count above 0."""
    logs = physical_name(Names.api_log_group, suffix)
    return MathAlarmSpec(
        name=physical_name(Names.alarm_api_metrics_missing, suffix),
        metrics=[
            MetricQuery(
                id="api",
                namespace=m.namespace,
                metric=m.requests.name,
                dimensions=m.requests.dimensions({}),
                stat="Sum",
            ),
            MetricQuery(
                id="alb",
                namespace="AWS/ApplicationELB",
                metric="RequestCount",
                dimensions=target,
                stat="Sum",
            ),
        ],
        expressions=[
            Expression(
                id="missing",
                expression=f"IF(alb >= {MIN_ALB_REQUESTS}, 1, 0) - IF(api > 0, 1, 0)",
                label="1 when the ALB forwards requests and the API's metrics count none",
            )
        ],
        comparison="GreaterThanOrEqualToThreshold",
        threshold=1,
        why=f"The ALB forwarded requests to the API for {NO_PAYMENTS_PERIODS} five-minute periods "
        "and the API's metrics counted none: the business alarms are blind.",
        period=NO_PAYMENTS_PERIOD_SECONDS,
        evaluation_periods=NO_PAYMENTS_PERIODS,
        action="Deploy an image built from this repository's app/api (unset payments:apiImage, "
        "or rebuild it) with the namespace the stack reads in metrics.json, then make up; "
        "until then watch the ALB alarms, which do not depend on the API's metrics.",
        runbook=f"whether the lines in {logs} carry _aws (the image built from app/api); "
        "AWS/Logs EMFValidationErrors and EMFParsingErrors for that log group; that "
        "metrics.json's namespace is the one deployed.",
    )


def error_rate_alarm(m: ApiMetrics, suffix: str) -> MathAlarmSpec:
    """5xx as a share of every request. No requests at all: division by zero drops the
    point, and missing data is not breaching."""
    return MathAlarmSpec(
        name=physical_name(Names.alarm_api_error_rate, suffix),
        metrics=[
            MetricQuery(
                id="requests",
                namespace=m.namespace,
                metric=m.requests.name,
                dimensions=m.requests.dimensions({}),
                stat="Sum",
            ),
            MetricQuery(
                id="errors",
                namespace=m.namespace,
                metric=m.server_errors.name,
                dimensions=m.server_errors.dimensions({}),
                stat="Sum",
            ),
        ],
        expressions=[
            Expression(id="rate", expression=ERROR_RATE, label="5xx responses (% of requests)")
        ],
        comparison="GreaterThanThreshold",
        threshold=ERROR_RATE_PERCENT,
        why=f"Over {ERROR_RATE_PERCENT:g}% of the API's answers are 5xx in {ERROR_RATE_TO_ALARM} "
        f"of {ERROR_RATE_PERIODS} minutes: payments fail, at any traffic.",
        evaluation_periods=ERROR_RATE_PERIODS,
        datapoints_to_alarm=ERROR_RATE_TO_ALARM,
        action="503s while /readyz fails: the database, follow the Aurora alarms' actions (after "
        "a failover or rotation the API reconnects by itself within a minute). 500s after a "
        "deploy: roll back (docs/deploy.md, Rolling back).",
        runbook="/readyz and the Aurora graphs (503 database unavailable: a failover, a "
        "rotation, connections); Logs Insights on "
        f"{physical_name(Names.api_log_group, suffix)}: status >= 500; whether a deploy is "
        "rolling out.",
    )


def business_widgets(metrics: ApiMetrics | None = None) -> list[DashboardWidget]:
    """The dashboard's first row: payments, errors, latency, database time (4 x 6 columns)."""
    m = _metrics(metrics)
    ns = m.namespace

    def row(
        metric: DeclaredMetric, dimensions: Mapping[str, str] | None = None, **options: object
    ) -> MetricRow:
        """A graph line: a declared dimension set only, then CloudWatch's options."""
        pairs = [part for item in metric.dimensions(dimensions or {}).items() for part in item]
        return [ns, metric.name, *pairs, options] if options else [ns, metric.name, *pairs]

    return [
        DashboardWidget(
            title="Payments per minute: created, replayed, conflicting",
            metrics=[row(m.payments_created), row(m.payments_replayed), row(m.payments_conflicted)],
            width=6,
        ),
        DashboardWidget(
            title="API 5xx rate (%), refusals per minute",
            metrics=[
                row(m.requests, id="requests", visible=False),
                row(m.server_errors, id="errors", visible=False),
                [{"expression": ERROR_RATE, "label": "5xx (% of requests)", "id": "rate"}],
                row(m.auth_failures, yAxis="right"),
                row(m.requests_refused, yAxis="right"),
            ],
            width=6,
        ),
        DashboardWidget(
            title="API latency p99 (ms)",
            metrics=[
                row(
                    m.latency,
                    dimensions={m.route: PAYMENT_ROUTE},
                    label=f"{PAYMENT_ROUTE} p99",
                ),
                row(m.latency, label="all routes p99"),
            ],
            stat="p99",
            width=6,
        ),
        DashboardWidget(
            title="Database time per request (ms)",
            metrics=[
                row(m.database_latency, stat="p99", label=f"{m.database_latency.name} p99"),
                row(m.database_latency, stat="Average", label=f"{m.database_latency.name} avg"),
                row(m.pool_wait, stat="p99", label=f"{m.pool_wait.name} p99"),
            ],
            stat="p99",
            width=6,
        ),
    ]
