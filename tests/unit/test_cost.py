"""Cost estimate: the arithmetic on a hand-made graph, the real graph, the what-if, the prices.
What each line pays for, the controls' parts and the table: test_cost_report.py."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from payments_infra.components.api.service import DESIRED_TASKS
from payments_infra.config import DEFAULT_API_CPU, DEFAULT_API_MEMORY, DEFAULT_DB_MIN_CAPACITY
from payments_infra.offline import cost, cost_assumptions, cost_controls
from payments_infra.offline.graph import Graph, Resource
from payments_infra.offline.price_table import PRICES_FILE, CostLine

HOURS = 730
TABLE = json.loads(PRICES_FILE.read_text())
PRICE = {key: entry["usd"] for key, entry in TABLE["prices"].items()}
UNIT = {key: entry["unit"] for key, entry in TABLE["prices"].items()}
TASK_ARN = "arn:aws:ecs:us-east-1:123456789012:task-definition/api:1"

# Every line the estimate of the real graph must have.
EXPECTED_ITEMS = {
    "NAT gateway hours",
    "Elastic IP (public IPv4) hours",
    "NAT data processed (baseline)",
    "VPC interface endpoint AZ-hours",
    "VPC endpoint data processed (baseline)",
    "NAT data moved to endpoints (baseline)",
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
    "WAF web ACLs",
    "WAF rules",
    "WAF requests (baseline)",
    "KMS customer-managed keys",
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
    "VPC flow logs ingestion (baseline)",
    "VPC flow logs storage (baseline)",
    "DNS Firewall domains",
    "DNS Firewall queries (baseline)",
    "DNS query logs ingestion (baseline)",
    "DNS query logs storage (baseline)",
    "DNS blocked-queries metric",
    # The account controls and the log archive, off in the default stack: their lines are 0.
    "CloudTrail logs ingestion (estimate)",
    "CloudTrail logs storage (estimate)",
    "KMS key of the audit trail",
    "GuardDuty events analysed (estimate)",
    "GuardDuty flow and DNS logs (estimate)",
    "Security Hub checks (estimate)",
    "Config items recorded (estimate)",
    "Log archive: Firehose (baseline)",
    "Log archive: S3 Standard (baseline)",
    "Log archive: Glacier IR (baseline)",
}


def resource(
    type_token: str,
    name: str,
    inputs: dict[str, Any],
    *,
    resource_id: str = "",
    outputs: dict[str, Any] | None = None,
) -> Resource:
    return Resource(
        urn=f"urn:pulumi:test::payments::{type_token}::{name}",
        type=type_token,
        name=name,
        custom=True,
        parent="",
        provider="",
        inputs=inputs,
        outputs=outputs or {},
        id=resource_id or f"{name}-id",
    )


def small_graph(*, runtime_platform: dict[str, str] | None = None) -> Graph:
    """Two NAT gateways, an ALB in two subnets, 3 tasks of 1 vCPU / 2 GiB, Aurora with two
    instances at a 2 ACU minimum (and a stray instance of another cluster), a distribution,
    a web ACL with 3 rules, a key, a secret, a 60-day log group, 4 alarms (one of them metric
    math over 3 metrics) and a dashboard."""
    platform = {"cpuArchitecture": "ARM64"} if runtime_platform is None else runtime_platform
    task_inputs: dict[str, Any] = {"cpu": "1024", "memory": "2048"}
    if platform:
        task_inputs["runtimePlatform"] = platform
    return Graph(
        [
            resource(cost.ELASTIC_IP, "eip-a", {"domain": "vpc"}),
            resource(cost.ELASTIC_IP, "eip-b", {"domain": "vpc"}),
            resource(cost.NAT_GATEWAY, "nat-a", {"allocationId": "eip-a-id"}),
            resource(cost.NAT_GATEWAY, "nat-b", {"allocationId": "eip-b-id"}),
            resource(cost.LOAD_BALANCER, "alb", {"internal": False, "subnets": ["a", "b"]}),
            resource(cost.TASK_DEFINITION, "task", task_inputs, outputs={"arn": TASK_ARN}),
            resource(
                cost.ECS_SERVICE, "service", {"desiredCount": 3.0, "taskDefinition": TASK_ARN}
            ),
            resource(
                cost.AURORA_CLUSTER,
                "db",
                {"serverlessv2ScalingConfiguration": {"minCapacity": 2.0, "maxCapacity": 8.0}},
                resource_id="db-id",
            ),
            resource(cost.AURORA_INSTANCE, "db-writer", {"clusterIdentifier": "db-id"}),
            resource(cost.AURORA_INSTANCE, "db-reader", {"clusterIdentifier": "db-id"}),
            resource(cost.AURORA_INSTANCE, "other-db-writer", {"clusterIdentifier": "other-id"}),
            resource(cost.DISTRIBUTION, "cdn", {"enabled": True}),
            resource(
                cost_controls.WEB_ACL,
                "waf",
                {"rules": [{"name": "a"}, {"name": "b"}, {"name": "c"}]},
            ),
            resource(cost_controls.KMS_KEY, "key", {}),
            resource(cost.SECRET, "secret", {}),
            resource(cost_controls.LOG_GROUP, "logs", {"retentionInDays": 60.0}),
            *[resource(cost.ALARM, f"alarm-{i}", {"metricName": "m"}) for i in range(3)],
            resource(
                cost.ALARM,
                "alarm-math",
                {
                    "metricQueries": [
                        *[{"id": f"m{i}", "metric": {"metricName": "m"}} for i in range(3)],
                        {"id": "e", "expression": "m0 + m1 + m2", "returnData": True},
                    ]
                },
            ),
            resource(cost.DASHBOARD, "dashboard", {}),
        ],
        {},
    )


def by_item(lines: list[CostLine]) -> dict[str, CostLine]:
    items = [line.item for line in lines]
    assert len(items) == len(set(items)), "an item appears twice"
    return {line.item: line for line in lines}


def assert_line(line: CostLine, quantity: float, price_key: str) -> None:
    assert line.quantity == pytest.approx(quantity)
    assert line.unit == UNIT[price_key]
    assert line.unit_price == PRICE[price_key]
    assert line.monthly == pytest.approx(quantity * PRICE[price_key])


def test_each_line_of_a_small_graph_is_its_count_times_its_size_times_its_price() -> None:
    lines = by_item(cost.estimate(small_graph()))

    assert_line(lines["NAT gateway hours"], 2 * HOURS, "nat_gateway_hour")
    assert_line(lines["Elastic IP (public IPv4) hours"], 2 * HOURS, "public_ipv4_hour")
    assert_line(
        lines["NAT data processed (baseline)"],
        cost_assumptions.NAT_GB_PROCESSED_PER_MONTH,
        "nat_gateway_gb_processed",
    )
    assert_line(lines["ALB hours"], HOURS, "alb_hour")
    assert_line(
        lines["ALB LCU-hours (baseline)"],
        cost_assumptions.ALB_LCUS_PER_HOUR * HOURS,
        "alb_lcu_hour",
    )
    assert_line(lines["ALB public IPv4 hours"], 2 * HOURS, "public_ipv4_hour")
    # 3 tasks x 1 vCPU and 3 tasks x 2 GiB, on Graviton prices.
    assert_line(lines["Fargate vCPU (ARM64)"], 3 * 1 * HOURS, "fargate_arm64_vcpu_hour")
    assert_line(lines["Fargate memory (ARM64)"], 3 * 2 * HOURS, "fargate_arm64_gb_hour")
    # 2 instances of this cluster x 2 ACU; the other cluster's instance is not counted.
    assert_line(
        lines["Aurora ACU-hours at minimum capacity"],
        2 * 2 * HOURS,
        "aurora_serverless_v2_acu_hour",
    )
    assert_line(
        lines["Aurora storage (baseline)"],
        cost_assumptions.AURORA_STORAGE_GB,
        "aurora_storage_gb_month",
    )
    assert_line(
        lines["Aurora I/O (baseline)"],
        cost_assumptions.AURORA_IO_MILLION_REQUESTS_PER_MONTH,
        "aurora_io_million_requests",
    )
    assert_line(
        lines["CloudFront HTTPS requests (baseline)"],
        cost_assumptions.CLOUDFRONT_REQUESTS_PER_MONTH / 10_000,
        "cloudfront_https_10k_requests",
    )
    assert_line(
        lines["CloudFront data out (baseline)"],
        cost_assumptions.CLOUDFRONT_GB_OUT_PER_MONTH,
        "cloudfront_gb_out_north_america",
    )
    assert_line(lines["WAF web ACLs"], 1, "waf_web_acl_month")
    assert_line(lines["WAF rules"], 3, "waf_rule_month")
    assert_line(
        lines["WAF requests (baseline)"],
        cost_assumptions.WAF_REQUESTS_PER_MONTH / 1_000_000,
        "waf_million_requests",
    )
    assert_line(lines["KMS customer-managed keys"], 1, "kms_key_month")
    assert_line(lines["Secrets Manager secrets"], 1, "secrets_manager_secret_month")
    assert_line(
        lines["CloudWatch Logs ingestion (baseline)"],
        cost_assumptions.LOG_GB_INGESTED_PER_MONTH,
        "cloudwatch_logs_ingestion_gb",
    )
    # 60 days of retention keep two months of ingestion.
    assert_line(
        lines["CloudWatch Logs storage (baseline)"],
        2 * cost_assumptions.LOG_GB_INGESTED_PER_MONTH,
        "cloudwatch_logs_storage_gb_month",
    )
    # 3 alarms on one metric, and one over three: 6 alarm metrics.
    assert_line(lines["CloudWatch alarm metrics"], 6, "cloudwatch_alarm_metric_month")
    # The one ECS service: the API's metrics, as many as metrics.json lets it write.
    assert_line(
        lines["CloudWatch custom metrics (API, EMF)"],
        cost.api_custom_metrics(),
        "cloudwatch_custom_metric_month",
    )
    assert_line(lines["CloudWatch dashboards"], 1, "cloudwatch_dashboard_month")
    for negligible in ("SNS publishes", "SQS requests", "Lambda requests", "Lambda compute"):
        assert lines[negligible].quantity == 0
        assert lines[negligible].monthly == 0


def test_the_small_graphs_hand_computed_fixed_lines_add_up_to_their_dollar_amounts() -> None:
    lines = by_item(cost.estimate(small_graph()))

    # The same figures as dollars, multiplied out here to catch a wrong unit (per 1,000 vs
    # per 10,000, MiB vs GiB) that the line-by-line check above would share with the code.
    assert lines["NAT gateway hours"].monthly == pytest.approx(1460 * PRICE["nat_gateway_hour"])
    assert lines["Fargate vCPU (ARM64)"].monthly == pytest.approx(
        2190 * PRICE["fargate_arm64_vcpu_hour"]
    )
    assert lines["Fargate memory (ARM64)"].monthly == pytest.approx(
        4380 * PRICE["fargate_arm64_gb_hour"]
    )
    assert lines["Aurora ACU-hours at minimum capacity"].monthly == pytest.approx(
        2920 * PRICE["aurora_serverless_v2_acu_hour"]
    )


def test_interface_endpoints_bill_each_zone_hour_and_take_aws_traffic_off_the_nat() -> None:
    without = by_item(cost.estimate(small_graph()))
    assert without["VPC interface endpoint AZ-hours"].monthly == 0
    assert without["VPC endpoint data processed (baseline)"].monthly == 0
    assert without["NAT data moved to endpoints (baseline)"].monthly == 0

    graph = small_graph()
    subnets = ["private-a", "private-b", "private-c"]
    endpoint = cost_controls.VPC_ENDPOINT
    graph.resources += [
        resource(endpoint, "logs", {"vpcEndpointType": "Interface", "subnetIds": subnets}),
        resource(endpoint, "ecr-api", {"vpcEndpointType": "Interface", "subnetIds": subnets}),
        resource(endpoint, "s3", {"vpcEndpointType": "Gateway"}),  # free
    ]
    lines = by_item(cost.estimate(graph))

    # 2 endpoints x 3 zones, every hour; the gateway endpoint costs nothing.
    assert_line(lines["VPC interface endpoint AZ-hours"], 6 * HOURS, "interface_endpoint_az_hour")
    assert lines["VPC interface endpoint AZ-hours"].monthly == pytest.approx(
        4380 * PRICE["interface_endpoint_az_hour"]
    )
    assert_line(
        lines["VPC endpoint data processed (baseline)"],
        cost_assumptions.AWS_API_GB_PER_MONTH,
        "interface_endpoint_gb_processed",
    )
    # The NAT gateways process everything but AWS's APIs: the endpoints' own line takes those
    # off, so the NAT line is the same with and without them.
    assert lines["NAT data processed (baseline)"] == without["NAT data processed (baseline)"]
    assert_line(
        lines["NAT data moved to endpoints (baseline)"],
        -cost_assumptions.AWS_API_GB_PER_MONTH,
        "nat_gateway_gb_processed",
    )
    assert lines["NAT data processed (baseline)"].quantity + lines[
        "NAT data moved to endpoints (baseline)"
    ].quantity == pytest.approx(
        cost_assumptions.NAT_GB_PROCESSED_PER_MONTH - cost_assumptions.AWS_API_GB_PER_MONTH
    )


def test_an_x86_task_is_priced_at_x86_rates() -> None:
    lines = by_item(cost.estimate(small_graph(runtime_platform={"cpuArchitecture": "X86_64"})))

    assert "Fargate vCPU (ARM64)" not in lines
    assert_line(lines["Fargate vCPU (X86_64)"], 3 * HOURS, "fargate_x86_64_vcpu_hour")
    assert_line(lines["Fargate memory (X86_64)"], 6 * HOURS, "fargate_x86_64_gb_hour")


def test_a_task_without_a_runtime_platform_is_priced_as_x86_like_ecs_runs_it() -> None:
    lines = by_item(cost.estimate(small_graph(runtime_platform={})))

    assert_line(lines["Fargate vCPU (X86_64)"], 3 * HOURS, "fargate_x86_64_vcpu_hour")


def test_the_real_graph_has_every_line_and_its_total_is_the_sum_of_the_lines(
    recorded_graph: Graph,
) -> None:
    lines = cost.estimate(recorded_graph)

    assert set(by_item(lines)) == EXPECTED_ITEMS
    assert cost.total(lines) > 0
    assert cost.total(lines) == pytest.approx(sum(line.monthly for line in lines))


def test_the_real_graph_is_priced_from_its_own_counts_and_sizes(recorded_graph: Graph) -> None:
    lines = by_item(cost.estimate(recorded_graph))
    nat_gateways = len(recorded_graph.of_type(cost.NAT_GATEWAY))

    assert nat_gateways == 3  # one per zone
    assert lines["NAT gateway hours"].quantity == nat_gateways * HOURS
    assert lines["Fargate vCPU (ARM64)"].quantity == DESIRED_TASKS * DEFAULT_API_CPU / 1024 * HOURS
    assert (
        lines["Fargate memory (ARM64)"].quantity
        == DESIRED_TASKS * DEFAULT_API_MEMORY / 1024 * HOURS
    )
    # Writer and reader, each at the default minimum.
    assert lines["Aurora ACU-hours at minimum capacity"].quantity == (
        2 * DEFAULT_DB_MIN_CAPACITY * HOURS
    )
    alarms = recorded_graph.of_type(cost.ALARM)
    math = [a for a in alarms if "metricQueries" in a.inputs]
    assert math, "no metric math alarm to count"
    assert lines["CloudWatch alarm metrics"].quantity == len(alarms) - len(math) + sum(
        sum(1 for q in a.inputs["metricQueries"] if "metric" in q) for a in math
    )
    assert lines["KMS customer-managed keys"].quantity == len(
        recorded_graph.of_type(cost_controls.KMS_KEY)
    )
    # ECR API, ECR Docker, Logs, Secrets Manager, each in 3 zones: $87.60 a month (KMS and STS
    # went: nothing in the VPC calls them, components/network/endpoints.py).
    assert lines["VPC interface endpoint AZ-hours"].quantity == 4 * 3 * HOURS
    assert lines["VPC interface endpoint AZ-hours"].monthly == pytest.approx(87.60)
    # One flow log, into CloudWatch Logs.
    assert lines["VPC flow logs ingestion (baseline)"].quantity == (
        cost_assumptions.FLOW_LOG_GB_PER_MONTH
    )
    # One VPC behind a DNS Firewall: every domain of its two lists (the allow-list and "*"),
    # its queries and its query logs at the stated baseline, one blocked-queries metric.
    domain_lists = recorded_graph.of_type(cost_controls.DOMAIN_LIST)
    assert lines["DNS Firewall domains"].quantity == sum(
        len(d.inputs["domains"]) for d in domain_lists
    )
    assert lines["DNS Firewall domains"].unit_price == 0.0005
    assert lines["DNS Firewall queries (baseline)"].monthly == pytest.approx(
        cost_assumptions.DNS_MILLION_QUERIES_PER_MONTH * 0.60
    )
    assert lines["DNS query logs ingestion (baseline)"].quantity == (
        cost_assumptions.DNS_QUERY_LOG_GB_PER_MONTH
    )
    assert lines["DNS blocked-queries metric"].quantity == 1


def test_the_non_production_what_if_is_cheaper_with_one_nat_one_task_and_a_small_writer(
    recorded_graph: Graph,
) -> None:
    production = by_item(cost.estimate(recorded_graph))
    what_if = by_item(cost.estimate(recorded_graph, profile="non-production"))

    assert cost.total(list(what_if.values())) < cost.total(list(production.values()))
    assert what_if["NAT gateway hours"].quantity == HOURS
    assert what_if["Elastic IP (public IPv4) hours"].quantity == HOURS
    assert what_if["Fargate vCPU (ARM64)"].quantity == DEFAULT_API_CPU / 1024 * HOURS
    assert what_if["Aurora ACU-hours at minimum capacity"].quantity == 0.5 * HOURS
    # Everything the what-if does not name is priced as recorded.
    assert what_if["CloudWatch alarm metrics"] == production["CloudWatch alarm metrics"]
    assert what_if["ALB hours"] == production["ALB hours"]


def test_an_unknown_profile_is_refused() -> None:
    with pytest.raises(ValueError, match="profile must be one of production, non-production"):
        cost.estimate(small_graph(), profile="staging")  # type: ignore[arg-type]


def test_the_price_table_names_its_sources_and_date_and_every_price_is_positive() -> None:
    assert re.fullmatch(r"\d{4}-\d{2}", TABLE["as_of"])
    assert "re-check" in TABLE["note"].lower()
    assert TABLE["source"], "no pricing pages named"
    for page, url in TABLE["source"].items():
        assert url.startswith("https://aws.amazon.com/"), page
    for key, entry in TABLE["prices"].items():
        assert entry["usd"] > 0, key
        assert entry["unit"], key
        assert entry["source"] in TABLE["source"], key


def test_every_price_the_estimate_uses_comes_from_the_table(recorded_graph: Graph) -> None:
    table_prices = {(UNIT[key], PRICE[key]) for key in PRICE}

    for line in cost.estimate(recorded_graph):
        assert (line.unit, line.unit_price) in table_prices, line.item
