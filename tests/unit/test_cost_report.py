"""What each line of the cost estimate pays for: the minimal highly available platform, then each
control on top of it (endpoints, WAF, keys, flow logs, account controls, log archive), the
account controls priced when on, what an optional part that is off would add, and the table."""

from __future__ import annotations

import json
import re
from collections.abc import Callable

import pytest

from payments_infra import REPO_ROOT
from payments_infra.offline import cost, cost_assumptions, cost_controls, cost_report
from payments_infra.offline.graph import Graph, Resource
from payments_infra.offline.mocks import record_program
from payments_infra.offline.price_table import PRICES_FILE, CostLine, Part, load_prices
from payments_infra.offline.stack_file import read_stack_config, stack_file_path
from tests.stacks import VALID_CONFIG

TABLE = json.loads(PRICES_FILE.read_text())
HOURS = 730

# The minimal highly available platform: what serves the API and the web app from three zones.
PLATFORM_ITEMS = {
    "NAT gateway hours",
    "Elastic IP (public IPv4) hours",
    "NAT data processed (baseline)",
    "ALB hours",
    "ALB LCU-hours (baseline)",
    "ALB public IPv4 hours",
    "Fargate vCPU (ARM64)",
    "Fargate memory (ARM64)",
    "Aurora ACU-hours at minimum capacity",
    "Aurora storage (baseline)",
    "Aurora I/O (baseline)",
    "CloudFront HTTPS requests (baseline)",
    "CloudFront data out (baseline)",
    "Secrets Manager secrets",
    "CloudWatch Logs ingestion (baseline)",
    "CloudWatch Logs storage (baseline)",
    "CloudWatch alarm metrics",
    "CloudWatch custom metrics (API, EMF)",
    "CloudWatch dashboards",
    "SNS publishes",
    "SQS requests",
    "Lambda requests",
    "Lambda compute",
}
ACCOUNT_CONTROL_PRICES = {
    "guardduty_million_events": "Amazon GuardDuty pricing",
    "guardduty_flow_dns_gb": "Amazon GuardDuty pricing",
    "security_hub_check": "AWS Security Hub CSPM pricing",
    "config_item_recorded": "AWS Config pricing",
}


def of_part(lines: list[CostLine], part: Part) -> dict[str, CostLine]:
    return {line.item: line for line in lines if line.part == part}


@pytest.fixture(scope="module")
def archive_graph() -> Graph:
    """The default stack with the log archive alone turned on."""
    return record_program({**VALID_CONFIG, "payments:logArchive": "s3"}, stack="test")


def test_the_parts_add_up_to_the_total_and_the_platform_holds_no_control(
    recorded_graph: Graph,
) -> None:
    lines = cost.estimate(recorded_graph)
    parts = cost_report.subtotals(lines)

    assert set(parts) == set(Part)
    assert sum(parts.values()) == pytest.approx(cost.total(lines))
    assert set(of_part(lines, Part.PLATFORM)) == PLATFORM_ITEMS
    assert cost_report.minimal_total(lines) == pytest.approx(parts[Part.PLATFORM])
    # Controls cost money on top of it; none is free.
    for part in (Part.VPC_ENDPOINTS, Part.WAF, Part.KMS_KEYS, Part.FLOW_LOGS):
        assert parts[part] > 0, part


def test_the_default_stack_adds_its_controls_and_leaves_the_opt_in_parts_off(
    recorded_graph: Graph,
) -> None:
    lines = cost.estimate(recorded_graph)
    parts = cost_report.subtotals(lines)

    # Four endpoints in three zones, their 10 GB, and the same 10 GB off the NAT gateways.
    assert parts[Part.VPC_ENDPOINTS] == pytest.approx(4 * 3 * HOURS * 0.01 + 0.10 - 0.45)
    flow = of_part(lines, Part.FLOW_LOGS)
    assert flow["VPC flow logs ingestion (baseline)"].quantity == (
        cost_assumptions.FLOW_LOG_GB_PER_MONTH
    )
    assert set(of_part(lines, Part.WAF)) == {"WAF web ACLs", "WAF rules", "WAF requests (baseline)"}
    assert cost_report.is_off(lines, Part.ACCOUNT_CONTROLS)
    assert cost_report.is_off(lines, Part.LOG_ARCHIVE)
    assert not cost_report.is_off(lines, Part.VPC_ENDPOINTS)
    # Parts without a setting are never "off", even with nothing to price.
    assert not cost_report.is_off([], Part.WAF)


def test_the_account_controls_are_priced_from_the_graph_when_on(
    stack_graphs: Callable[[str], Graph], recorded_graph: Graph
) -> None:
    everything = stack_graphs("everything")  # accountControls: true
    lines = cost.estimate(everything)
    controls = of_part(lines, Part.ACCOUNT_CONTROLS)

    expected = {
        "CloudTrail logs ingestion (estimate)": cost_assumptions.CLOUDTRAIL_LOG_GB_PER_MONTH,
        "KMS key of the audit trail": 1,
        "GuardDuty events analysed (estimate)": cost_assumptions.GUARDDUTY_MILLION_EVENTS_PER_MONTH,
        "GuardDuty flow and DNS logs (estimate)": cost_assumptions.GUARDDUTY_FLOW_DNS_GB_PER_MONTH,
        "Security Hub checks (estimate)": cost_assumptions.SECURITY_HUB_CHECKS_PER_MONTH,
        "Config items recorded (estimate)": cost_assumptions.CONFIG_ITEMS_PER_MONTH,
    }
    for item, quantity in expected.items():
        assert controls[item].quantity == pytest.approx(quantity), item
        assert controls[item].monthly > 0, item
    assert controls["CloudTrail logs storage (estimate)"].monthly > 0
    # What the default stack's plan says they would add is what they cost when on.
    would_add = cost_report.if_on(recorded_graph)
    assert would_add[Part.ACCOUNT_CONTROLS] == pytest.approx(
        cost_report.subtotals(lines)[Part.ACCOUNT_CONTROLS]
    )


def test_the_audit_key_is_the_account_controls_and_every_key_is_priced_once(
    stack_graphs: Callable[[str], Graph],
) -> None:
    everything = stack_graphs("everything")
    lines = {line.item: line for line in cost.estimate(everything)}
    keys = everything.of_type(cost_controls.KMS_KEY)
    audit = [key for key in keys if cost_controls.is_account_controls(everything, key)]

    assert len(audit) == 1
    assert lines["KMS key of the audit trail"].quantity == 1
    assert lines["KMS customer-managed keys"].quantity == len(keys) - 1
    assert lines["KMS customer-managed keys"].part == Part.KMS_KEYS


def test_the_log_archive_is_priced_from_every_log_group_when_on(
    archive_graph: Graph, recorded_graph: Graph
) -> None:
    lines = cost.estimate(archive_graph)
    archive = of_part(lines, Part.LOG_ARCHIVE)
    ingested = (
        cost_assumptions.LOG_GB_INGESTED_PER_MONTH
        + cost_assumptions.FLOW_LOG_GB_PER_MONTH
        + cost_assumptions.DNS_QUERY_LOG_GB_PER_MONTH
    )

    assert archive["Log archive: Firehose (baseline)"].quantity == pytest.approx(ingested)
    # A year's archive: 90 days in S3 Standard, the other 275 in Glacier Instant Retrieval.
    assert archive["Log archive: S3 Standard (baseline)"].quantity == pytest.approx(ingested * 3)
    assert archive["Log archive: Glacier IR (baseline)"].quantity == pytest.approx(
        ingested * 275 / 30
    )
    assert cost_report.if_on(recorded_graph)[Part.LOG_ARCHIVE] == pytest.approx(
        cost_report.subtotals(lines)[Part.LOG_ARCHIVE]
    )


def test_what_the_endpoints_would_add_is_what_they_cost_when_on(
    stack_graphs: Callable[[str], Graph], recorded_graph: Graph
) -> None:
    without = cost.estimate(stack_graphs("no-endpoints"))

    assert cost_report.is_off(without, Part.VPC_ENDPOINTS)
    assert cost_report.if_on(stack_graphs("no-endpoints"))[Part.VPC_ENDPOINTS] == pytest.approx(
        cost_report.subtotals(cost.estimate(recorded_graph))[Part.VPC_ENDPOINTS]
    )


def test_the_table_ends_with_the_minimal_bill_what_each_control_adds_and_the_total(
    recorded_graph: Graph,
) -> None:
    lines = cost.estimate(recorded_graph)
    would_add = cost_report.if_on(recorded_graph)
    table = cost_report.render(lines, would_add=would_add)
    parts = cost_report.subtotals(lines)

    minimal = parts[Part.PLATFORM]
    assert re.search(rf"^Minimal highly available platform +{minimal:,.2f}$", table, re.M)
    for part in (Part.VPC_ENDPOINTS, Part.WAF, Part.KMS_KEYS, Part.FLOW_LOGS):
        assert re.search(rf"^\+ {part} +{parts[part]:,.2f}$", table, re.M), part
    on = would_add[Part.ACCOUNT_CONTROLS]
    assert re.search(
        rf"^\+ account controls: off; on, about {on:,.2f} a month more +0\.00$", table, re.M
    )
    assert "+ Account controls (payments:accountControls): off" in table
    assert "GuardDuty" not in table  # an off part is one row, not its zero lines
    assert re.search(rf"^Total +{cost.total(lines):,.2f}$", table, re.M)
    assert "(estimate) for the account controls" in table


def test_the_rendered_table_lists_every_line_and_the_total_in_dollars_and_cents(
    recorded_graph: Graph,
) -> None:
    lines = cost.estimate(recorded_graph)
    table = cost_report.render(lines)

    for line in lines:
        if cost_report.is_off(lines, line.part):  # one row for the part (above)
            continue
        assert re.search(rf"^{re.escape(line.item)} .* {line.monthly:,.2f}$", table, re.M)
    assert re.search(rf"^Total +{cost.total(lines):,.2f}$", table, re.M)
    assert "WHAT-IF" not in table
    assert max(len(row) for row in table.splitlines()) <= cost_report.WIDTH  # a terminal's


def test_the_rendered_non_production_table_says_it_is_a_what_if_the_stack_does_not_offer(
    recorded_graph: Graph,
) -> None:
    lines = cost.estimate(recorded_graph, profile="non-production")
    table = cost_report.render(lines, profile="non-production")

    assert "NON-PRODUCTION WHAT-IF" in table
    assert "does NOT offer these as settings" in table
    # One NAT gateway and Aurora's writer alone are not highly available: not called so.
    assert "Minimal highly available" not in table
    assert re.search(r"^Platform at the what-if's sizes +[\d,]+\.\d\d$", table, re.M)


def test_the_account_controls_prices_are_sourced_and_their_usage_is_dated() -> None:
    for key, page in ACCOUNT_CONTROL_PRICES.items():
        assert TABLE["prices"][key]["source"] == page, key
        assert TABLE["source"][page].startswith("https://aws.amazon.com/"), page
    assert re.fullmatch(r"\d{4}-\d{2}", cost_assumptions.ESTIMATES_AS_OF)
    estimated = cost_controls.account_control_lines(
        load_prices(), cost_controls.ONE_OF_EACH, stored_months=1.0
    )
    for line in estimated:
        assert line.item.endswith("(estimate)") or line.item == "KMS key of the audit trail"


def flow_log(name: str, inputs: dict[str, str]) -> Resource:
    return Resource(
        urn=f"urn:pulumi:test::payments::{cost_controls.FLOW_LOG}::{name}",
        type=cost_controls.FLOW_LOG,
        name=name,
        custom=True,
        parent="",
        provider="",
        inputs=inputs,
        outputs={},
        id=f"{name}-id",
    )


def test_only_flow_logs_into_cloudwatch_logs_are_priced_as_its_ingestion() -> None:
    graph = Graph(
        [
            flow_log("to-logs", {"logDestinationType": "cloud-watch-logs"}),
            flow_log("default", {}),  # CloudWatch Logs, AWS's default
            flow_log("to-s3", {"logDestinationType": "s3"}),
        ],
        {},
    )
    lines = of_part(cost.estimate(graph), Part.FLOW_LOGS)

    assert lines["VPC flow logs ingestion (baseline)"].quantity == (
        2 * cost_assumptions.FLOW_LOG_GB_PER_MONTH
    )


def test_the_cost_doc_shows_what_make_plan_prints_for_the_dev_stack() -> None:
    dev = record_program(read_stack_config(stack_file_path(REPO_ROOT, "dev")), stack="dev")
    printed = cost_report.render(cost.estimate(dev), would_add=cost_report.if_on(dev))
    doc = (REPO_ROOT / "docs" / "cost.md").read_text()
    shown = doc[doc.index("## The dev stack") :]
    shown = shown[shown.index("```text\n") + len("```text\n") :]
    shown = shown[: shown.index("\n```")]

    assert shown == printed, "docs/cost.md, The dev stack: paste the table make plan prints now"
