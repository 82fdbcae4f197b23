"""The API's business metrics in the stack: four alarms and the dashboard's business row, on
exactly the names, units and dimension sets app/api/payments_api/metrics.json declares."""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from payments_infra import REPO_ROOT
from payments_infra.components.api import api_metrics, business_metrics
from payments_infra.components.api.api_metrics import PAYMENT_ROUTE, STATUS_CLASSES
from payments_infra.components.network.dns_firewall import BLOCKED_NAMESPACE
from payments_infra.offline import cost
from payments_infra.offline.graph import Graph
from payments_infra.offline.mocks import record_program
from tests.stacks import SUFFIX, VALID_CONFIG

ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
DASHBOARD = "aws:cloudwatch/dashboard:Dashboard"
BUSINESS_ALARMS = (
    "alarm-no-payments",
    "alarm-api-error-rate",
    "alarm-api-p99",
    "alarm-auth-failures",
    "alarm-api-metrics-missing",
)
DECLARED = json.loads(api_metrics.METRICS_FILE.read_text())
# What each declared unit may be summarised by: counts add up, durations have a distribution.
STATISTICS_BY_UNIT = {
    "Count": re.compile(r"Sum|SampleCount"),
    "Milliseconds": re.compile(r"Average|Minimum|Maximum|p\d+(\.\d+)?|tm\d+"),
}


def alarms(graph: Graph) -> dict[str, dict[str, Any]]:
    return {a.inputs["name"]: a.inputs for a in graph.of_type(ALARM)}


def widgets(graph: Graph) -> list[dict[str, Any]]:
    (dashboard,) = graph.of_type(DASHBOARD)
    widgets: list[dict[str, Any]] = json.loads(dashboard.inputs["dashboardBody"])["widgets"]
    return widgets


def alarm_metrics(inputs: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, str], str]]:
    """(namespace, metric, dimensions, statistic) of each metric an alarm reads."""
    if "metricQueries" in inputs:
        for query in inputs["metricQueries"]:
            if "metric" in query:
                metric = query["metric"]
                yield (
                    metric["namespace"],
                    metric["metricName"],
                    metric.get("dimensions", {}),
                    metric["stat"],
                )
    else:
        statistic = inputs.get("extendedStatistic") or inputs["statistic"]
        yield inputs["namespace"], inputs["metricName"], inputs.get("dimensions", {}), statistic


def widget_metrics(widget: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, str], str]]:
    """(namespace, metric, dimensions, statistic) of each metric row of a dashboard widget."""
    properties = widget["properties"]
    for row in properties["metrics"]:
        options = row[-1] if isinstance(row[-1], dict) else {}
        parts = row[:-1] if options else row
        if not parts:  # a metric math row: options only
            continue
        namespace, metric, *pairs = parts
        dimensions = dict(zip(pairs[::2], pairs[1::2], strict=True))
        yield namespace, metric, dimensions, options.get("stat", properties["stat"])


def every_metric_used(graph: Graph) -> list[tuple[str, str, dict[str, str], str]]:
    used = [m for inputs in alarms(graph).values() for m in alarm_metrics(inputs)]
    used += [m for widget in widgets(graph) for m in widget_metrics(widget)]
    return used


def api_metrics_used(graph: Graph) -> list[tuple[str, str, dict[str, str], str]]:
    return [m for m in every_metric_used(graph) if m[0] == DECLARED["namespace"]]


def served_routes() -> set[str]:
    """The API's routes as it names them in the Route dimension: method and template."""
    sys.path.insert(0, str(REPO_ROOT / "app" / "api"))
    try:
        from payments_api.main import create_app  # noqa: PLC0415
        from payments_api.routes import health, payments  # noqa: PLC0415
        from payments_api.settings import Settings  # noqa: PLC0415

        settings = Settings.model_validate(
            {"database_url": "postgresql://u:p@db.invalid/d", "db_sslrootcert": "/nonexistent"}
        )
        app_routes = [r for r in create_app(settings).routes if getattr(r, "path", "")]
        return {
            f"{method} {path}"
            for routes in (payments.router.routes, health.router.routes, app_routes)
            for route in routes
            for path in [str(getattr(route, "path", ""))]
            for method in getattr(route, "methods", None) or ()
            if path.startswith(("/api", "/healthz", "/readyz"))
        }
    finally:
        sys.path.remove(str(REPO_ROOT / "app" / "api"))


# -- the recorded graph ------------------------------------------------------------------------


def test_the_graph_has_the_four_business_alarms_sending_to_the_alerts_topic(graph: Graph) -> None:
    (topic,) = graph.of_type("aws:sns/topic:Topic")
    found = alarms(graph)
    for name in BUSINESS_ALARMS:
        alarm = found[f"{name}-{SUFFIX}"]
        assert alarm["alarmActions"] == alarm["okActions"] == [topic.outputs["arn"]], name
        # An idle night, no request at all, is not an outage.
        assert alarm["treatMissingData"] == "notBreaching", name
        assert " Look first: " in alarm["alarmDescription"], f"{name} has no runbook line"
        page = (REPO_ROOT / "docs" / "architecture.md").read_text()
        assert f"`{name}-{{suffix}}`" in page, f"{name} is not in the alarms table"


def test_no_payments_fires_on_posts_arriving_with_none_created_for_15_minutes(
    graph: Graph,
) -> None:
    alarm = alarms(graph)[f"alarm-no-payments-{SUFFIX}"]
    queries = {q["id"]: q for q in alarm["metricQueries"]}
    assert "period" not in alarm  # each metric's own: 5 minutes
    assert alarm["evaluationPeriods"] == 3 and alarm.get("datapointsToAlarm", 3) == 3
    assert alarm["comparisonOperator"] == "GreaterThanOrEqualToThreshold"
    assert alarm["threshold"] == 1
    # Every answer to the payment POST, whatever its status class, at 5-minute periods.
    posts = [q["metric"] for q in queries.values() if q["id"].startswith("post_")]
    assert sorted(p["dimensions"]["StatusClass"] for p in posts) == list(STATUS_CLASSES)
    assert {p["dimensions"]["Route"] for p in posts} == {PAYMENT_ROUTE}
    assert {q["metric"]["period"] for q in queries.values() if "metric" in q} == {300}
    (watched,) = [q for q in queries.values() if q.get("returnData")]
    assert watched["expression"] == (
        f"IF(attempts >= {business_metrics.MIN_POST_ATTEMPTS}, 1, 0) - IF(created > 0, 1, 0)"
    )
    assert queries["attempts"]["expression"] == "post_2xx + post_3xx + post_4xx + post_5xx - auth"
    assert queries["created"]["metric"]["metricName"] == "PaymentsCreated"
    assert queries["auth"]["metric"]["metricName"] == "AuthFailures"


def test_error_rate_is_5xx_over_requests_in_3_of_5_minutes(graph: Graph) -> None:
    alarm = alarms(graph)[f"alarm-api-error-rate-{SUFFIX}"]
    queries = {q["id"]: q for q in alarm["metricQueries"]}
    assert queries["rate"]["expression"] == "100 * errors / requests"
    assert queries["rate"]["returnData"] is True
    assert alarm["threshold"] == business_metrics.ERROR_RATE_PERCENT == 5
    assert (alarm["evaluationPeriods"], alarm["datapointsToAlarm"]) == (5, 3)
    assert {q["metric"]["period"] for q in queries.values() if "metric" in q} == {60}


def test_p99_and_auth_failures_watch_one_metric_each(graph: Graph) -> None:
    found = alarms(graph)
    p99 = found[f"alarm-api-p99-{SUFFIX}"]
    assert p99["extendedStatistic"] == "p99" and "statistic" not in p99
    assert p99["dimensions"] == {"Route": PAYMENT_ROUTE}
    assert (p99["threshold"], p99["period"], p99["evaluationPeriods"]) == (500, 60, 3)
    auth = found[f"alarm-auth-failures-{SUFFIX}"]
    assert (auth["statistic"], auth["threshold"], auth["period"]) == ("Sum", 100, 300)
    assert auth["evaluationPeriods"] == 1 and "dimensions" not in auth


def test_missing_api_metrics_while_the_alb_forwards_requests_is_an_alarm(graph: Graph) -> None:
    # Missing data is not breaching for the others: this one catches the metrics vanishing.
    alarm = alarms(graph)[f"alarm-api-metrics-missing-{SUFFIX}"]
    queries = {q["id"]: q for q in alarm["metricQueries"]}
    alb = graph.of_type("aws:lb/loadBalancer:LoadBalancer")[0].outputs["arnSuffix"]
    target_group = graph.of_type("aws:lb/targetGroup:TargetGroup")[0].outputs["arnSuffix"]
    assert queries["alb"]["metric"]["namespace"] == "AWS/ApplicationELB"
    assert queries["alb"]["metric"]["metricName"] == "RequestCount"
    assert queries["alb"]["metric"]["dimensions"] == {
        "LoadBalancer": alb,
        "TargetGroup": target_group,
    }
    assert queries["api"]["metric"]["metricName"] == "Requests"
    assert "dimensions" not in queries["api"]["metric"]
    assert queries["missing"]["expression"] == "IF(alb >= 10, 1, 0) - IF(api > 0, 1, 0)"
    assert (alarm["evaluationPeriods"], alarm["threshold"]) == (3, 1)


def test_the_dashboard_opens_with_the_business_row(graph: Graph) -> None:
    row = widgets(graph)[:4]
    assert [w["width"] for w in row] == [6, 6, 6, 6]  # one row of the 24 columns
    names = [[m[1] for m in widget_metrics(w)] for w in row]
    assert names[0] == ["PaymentsCreated", "PaymentsReplayed", "PaymentsConflicted"]
    assert {"Requests", "ServerErrors"} <= set(names[1])
    expressions = [r[0]["expression"] for r in row[1]["properties"]["metrics"] if len(r) == 1]
    assert expressions == [business_metrics.ERROR_RATE]
    assert {(m[1], m[3]) for m in widget_metrics(row[2])} == {("Latency", "p99")}
    assert {(m[1], m[3]) for m in widget_metrics(row[3])} == {
        ("DatabaseLatency", "p99"),
        ("DatabaseLatency", "Average"),
        ("PoolWait", "p99"),
    }
    assert all(w["properties"]["period"] == 60 for w in row)  # per minute


# -- one declared source -----------------------------------------------------------------------


def test_every_custom_metric_used_is_in_the_declared_namespace(graph: Graph) -> None:
    namespaces = {m[0] for m in every_metric_used(graph)}
    custom = {n for n in namespaces if not n.startswith(("AWS/", "ECS/"))}
    # The API's, and the one the DNS Firewall's blocked-queries metric filter writes.
    assert custom == {DECLARED["namespace"], BLOCKED_NAMESPACE}


def test_every_api_metric_used_is_declared_with_that_dimension_set(graph: Graph) -> None:
    used = api_metrics_used(graph)
    assert len(used) > 10
    for _, metric, dimensions, _ in used:
        assert metric in DECLARED["metrics"], f"{metric} is not in metrics.json"
        declared_sets = [set(s) for s in DECLARED["metrics"][metric]["dimensions"]]
        assert set(dimensions) in declared_sets, (
            f"{metric} with {sorted(dimensions)}: EMF makes only {declared_sets}"
        )


def test_every_statistic_suits_the_declared_unit(graph: Graph) -> None:
    for _, metric, _, statistic in api_metrics_used(graph):
        unit = DECLARED["metrics"][metric]["unit"]
        assert STATISTICS_BY_UNIT[unit].fullmatch(statistic), f"{metric} ({unit}): {statistic}"


def test_no_dimension_value_is_high_cardinality_or_secret(graph: Graph) -> None:
    allowed = {"Route": served_routes(), "StatusClass": set(STATUS_CLASSES)}
    suspicious = re.compile(
        r"pay_[0-9a-z]{6,}"  # an API key's form
        r"|\d{12,}"  # a card number, an account, an id
        r"|[0-9a-f]{8}-[0-9a-f]{4}-"  # a UUID: a payment id
        r"|@"  # an e-mail address
    )
    for _, metric, dimensions, _ in api_metrics_used(graph):
        for name, value in dimensions.items():
            assert value in allowed[name], f"{metric}: {name}={value} is not a known value"
            assert not suspicious.search(value), f"{metric}: {name}={value}"


def test_the_watched_route_is_one_the_api_serves_written_as_the_file_describes() -> None:
    assert PAYMENT_ROUTE in served_routes()
    assert f"'{PAYMENT_ROUTE}'" in DECLARED["dimensions"]["Route"]


def test_the_status_classes_are_the_ones_the_file_describes() -> None:
    described = DECLARED["dimensions"]["StatusClass"]
    assert all(status_class in described for status_class in STATUS_CLASSES)


# -- they cannot drift -------------------------------------------------------------------------


@pytest.fixture
def edited_metrics(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Path]:
    """A copy of metrics.json that the program reads instead; edit it before recording."""
    copy = tmp_path / "metrics.json"
    copy.write_text(api_metrics.METRICS_FILE.read_text())
    monkeypatch.setattr(api_metrics, "METRICS_FILE", copy)
    api_metrics.declared.cache_clear()
    yield copy
    api_metrics.declared.cache_clear()


def edit(path: Path, change: Any) -> None:
    document = json.loads(path.read_text())
    change(document)
    path.write_text(json.dumps(document))


def test_a_new_namespace_in_metrics_json_moves_every_alarm_and_widget(
    recorded_graph: Graph, edited_metrics: Path
) -> None:
    edit(edited_metrics, lambda d: d.update(namespace="Payments/Renamed"))
    graph = record_program(VALID_CONFIG, stack="test")

    used = every_metric_used(graph)
    assert not [m for m in used if m[0] == DECLARED["namespace"]]
    moved = sorted(json.dumps(m[1:], sort_keys=True) for m in used if m[0] == "Payments/Renamed")
    before = sorted(json.dumps(m[1:], sort_keys=True) for m in api_metrics_used(recorded_graph))
    assert moved == before  # the order resources register in is not fixed


def test_a_metric_renamed_on_one_side_only_fails_naming_it(edited_metrics: Path) -> None:
    def rename(document: dict[str, Any]) -> None:
        document["metrics"]["PaymentsMade"] = document["metrics"].pop("PaymentsCreated")

    edit(edited_metrics, rename)
    with pytest.raises(api_metrics.MetricsFileError, match=r'no metric "PaymentsCreated"'):
        record_program(VALID_CONFIG, stack="test")


def test_a_dimension_set_the_api_no_longer_emits_fails_naming_it(edited_metrics: Path) -> None:
    edit(edited_metrics, lambda d: d["metrics"]["Latency"].update(dimensions=[[]]))
    with pytest.raises(ValueError, match="Latency is emitted with the dimensions"):
        record_program(VALID_CONFIG, stack="test")


def test_a_malformed_file_fails_naming_it(tmp_path: Path) -> None:
    broken = tmp_path / "metrics.json"
    broken.write_text("{")
    with pytest.raises(api_metrics.MetricsFileError, match=re.escape(str(broken))):
        api_metrics.load(broken)


def test_an_aws_namespace_is_refused(tmp_path: Path) -> None:
    copy = tmp_path / "metrics.json"
    copy.write_text(json.dumps({**DECLARED, "namespace": "AWS/ECS"}))
    with pytest.raises(api_metrics.MetricsFileError, match="custom namespace"):
        api_metrics.load(copy)


# -- cost --------------------------------------------------------------------------------------


def test_the_custom_metrics_are_counted_from_the_file() -> None:
    routes, classes = cost.API_DIMENSION_VALUES["Route"], cost.API_DIMENSION_VALUES["StatusClass"]
    expected = 0
    for entry in DECLARED["metrics"].values():
        for dimension_set in entry["dimensions"]:
            expected += {(): 1, ("Route",): routes, ("Route", "StatusClass"): routes * classes}[
                tuple(dimension_set)
            ]
    assert cost.api_custom_metrics() == expected
    # The routes the API serves, and "other" for what no route matched.
    assert routes == len(served_routes()) + 1
    # Every dimension the file declares has a value count in the estimate.
    assert set(DECLARED["dimensions"]) <= set(cost.API_DIMENSION_VALUES)
