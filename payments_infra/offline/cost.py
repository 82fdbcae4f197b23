"""Monthly cost estimate of the recorded graph, at AWS list prices for us-east-1.

Why from the graph: the estimate counts what the program really creates (NAT gateways, alarms,
keys...) and reads the sizes it really asks for (task CPU and memory, Aurora minimum capacity,
WAF rules), so a change to the program changes the estimate without anyone editing it.
Each line says what it pays for (``Part``): the minimal highly available platform (this
module's lines), or one of the controls on top of it (the interface endpoints, WAF,
customer-managed keys, flow logs, the account controls and the log archive: cost_controls.py),
so that cost_report.py shows the minimal bill beside the default one and what each control
adds.

Prices come from ``prices_us_east_1.json`` (``price_table.py``; with its sources and date,
re-check them before relying on them). What depends on traffic is priced at the baseline usage
figures of ``cost_assumptions.py``.
Alarms bill per metric they read (a metric math alarm over six metrics is six alarm metrics);
the custom metrics the API writes in Embedded Metric Format (app/api/payments_api/metrics.json)
bill per metric, one per name and combination of dimension values, counted from the file.
A month is 730 hours. Not priced: free tiers (left out on purpose), Savings Plans, taxes,
scaling above the minimum (more tasks, more ACUs, more LCUs), S3 and ECR storage, Container
Insights metrics, CloudFront Functions, KMS and Secrets Manager API calls, data transfer other
than CloudFront's, GuardDuty's protection plans.
"""

from __future__ import annotations

from typing import Literal

from payments_infra.components.api import api_metrics
from payments_infra.offline.cost_assumptions import (
    ALB_LCUS_PER_HOUR,
    AURORA_IO_MILLION_REQUESTS_PER_MONTH,
    AURORA_STORAGE_GB,
    CLOUDFRONT_GB_OUT_PER_MONTH,
    CLOUDFRONT_REQUESTS_PER_MONTH,
    LAMBDA_GB_SECONDS_PER_MONTH,
    LAMBDA_MILLION_REQUESTS_PER_MONTH,
    LOG_GB_INGESTED_PER_MONTH,
    NAT_GB_PROCESSED_PER_MONTH,
    NON_PRODUCTION_AURORA_INSTANCES,
    NON_PRODUCTION_AURORA_MIN_ACU,
    NON_PRODUCTION_NAT_GATEWAYS,
    NON_PRODUCTION_TASKS,
    SNS_MILLION_PUBLISHES_PER_MONTH,
    SQS_MILLION_REQUESTS_PER_MONTH,
)
from payments_infra.offline.cost_controls import (
    AccountControlCounts,
    account_control_lines,
    dns_firewall_lines,
    endpoint_lines,
    endpoint_zones,
    flow_log_lines,
    key_lines,
    log_archive_lines,
    log_archive_streams,
    logs_ingested_gb,
    stored_months,
    waf_lines,
)
from payments_infra.offline.graph import Graph, Resource
from payments_infra.offline.price_table import CostLine, PriceTable, load_prices

HOURS_PER_MONTH = 730  # AWS prices an hourly item per month at 730 hours (365 x 24 / 12)

# How many values each of the API's metric dimensions takes (metrics.json declares the
# dimensions, not their values): the routes the API serves (3 payment routes, /healthz,
# /readyz and their /api/ aliases, GET and HEAD /api/openapi.json) plus "other", and the
# status classes 2xx to 5xx. Every combination is counted, an upper bound: a health route
# never answers 409.
API_DIMENSION_VALUES = {"Route": 10, "StatusClass": 4}

Profile = Literal["production", "non-production"]
PROFILES: tuple[Profile, ...] = ("production", "non-production")

# ECS runs a task on X86_64 when the task definition names no architecture.
DEFAULT_CPU_ARCHITECTURE = "X86_64"
FARGATE_PRICE_KEYS = {
    "ARM64": ("fargate_arm64_vcpu_hour", "fargate_arm64_gb_hour"),
    "X86_64": ("fargate_x86_64_vcpu_hour", "fargate_x86_64_gb_hour"),
}

NAT_GATEWAY = "aws:ec2/natGateway:NatGateway"
ELASTIC_IP = "aws:ec2/eip:Eip"
LOAD_BALANCER = "aws:lb/loadBalancer:LoadBalancer"
ECS_SERVICE = "aws:ecs/service:Service"
TASK_DEFINITION = "aws:ecs/taskDefinition:TaskDefinition"
AURORA_CLUSTER = "aws:rds/cluster:Cluster"
AURORA_INSTANCE = "aws:rds/clusterInstance:ClusterInstance"
DISTRIBUTION = "aws:cloudfront/distribution:Distribution"
SECRET = "aws:secretsmanager/secret:Secret"
ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
DASHBOARD = "aws:cloudwatch/dashboard:Dashboard"


def estimate(
    graph: Graph, *, profile: Profile = "production", prices: PriceTable | None = None
) -> list[CostLine]:
    """The monthly cost of the graph, line by line, at baseline usage.

    ``production`` prices the graph as recorded. ``non-production`` is a WHAT-IF on the same
    graph, not a different deployment: one NAT gateway (and its Elastic IP) instead of one per
    zone, one Fargate task instead of the desired count, and Aurora with the writer only at a
    0.5 ACU minimum. The stack does NOT offer these as settings today; the figure shows what
    such settings would save. Everything else is priced as recorded.

    The lines come in the order of their parts: the minimal platform's, then each control's.
    """
    if profile not in PROFILES:
        raise ValueError(f"profile must be one of {', '.join(PROFILES)}; got {profile!r}")
    prices = prices or load_prices()
    cheaper = profile == "non-production"
    months = stored_months(graph)
    return [
        *_nat_lines(graph, prices, cheaper),
        *_load_balancer_lines(graph, prices),
        *_fargate_lines(graph, prices, cheaper),
        *_aurora_lines(graph, prices, cheaper),
        *_cloudfront_lines(graph, prices),
        *_secret_lines(graph, prices),
        *_cloudwatch_lines(graph, prices),
        *_negligible_lines(prices),
        *endpoint_lines(
            prices,
            zone_hours=endpoint_zones(graph) * HOURS_PER_MONTH,
            nat_gateways=bool(graph.of_type(NAT_GATEWAY)),
        ),
        *waf_lines(graph, prices),
        *key_lines(graph, prices),
        *flow_log_lines(graph, prices),
        *dns_firewall_lines(graph, prices),
        *account_control_lines(prices, AccountControlCounts.of(graph), months),
        *log_archive_lines(prices, log_archive_streams(graph), logs_ingested_gb(graph)),
    ]


def total(lines: list[CostLine]) -> float:
    """The monthly total of the lines, in USD."""
    return sum(line.monthly for line in lines)


def _nat_lines(graph: Graph, prices: PriceTable, cheaper: bool) -> list[CostLine]:
    """NAT gateways and their Elastic IPs bill by the hour, busy or idle. The data processed is
    all of it, AWS's APIs included: the endpoints' lines take those off (``endpoint_lines``)."""
    gateways = len(graph.of_type(NAT_GATEWAY))
    addresses = len(graph.of_type(ELASTIC_IP))
    processed = NAT_GB_PROCESSED_PER_MONTH if gateways else 0.0
    if cheaper:
        gateways = min(gateways, NON_PRODUCTION_NAT_GATEWAYS)
        addresses = min(addresses, NON_PRODUCTION_NAT_GATEWAYS)  # each NAT holds one EIP
    return [
        prices.line("NAT gateway hours", gateways * HOURS_PER_MONTH, "nat_gateway_hour"),
        prices.line(
            "Elastic IP (public IPv4) hours", addresses * HOURS_PER_MONTH, "public_ipv4_hour"
        ),
        prices.line("NAT data processed (baseline)", processed, "nat_gateway_gb_processed"),
    ]


def _load_balancer_lines(graph: Graph, prices: PriceTable) -> list[CostLine]:
    """ALB hours, a baseline of LCUs, and the public IPv4 address it holds in each subnet."""
    balancers = graph.of_type(LOAD_BALANCER)
    public_addresses = sum(
        len(balancer.inputs.get("subnets", []))
        for balancer in balancers
        if not balancer.inputs.get("internal", False)
    )
    hours = len(balancers) * HOURS_PER_MONTH
    return [
        prices.line("ALB hours", hours, "alb_hour"),
        prices.line("ALB LCU-hours (baseline)", hours * ALB_LCUS_PER_HOUR, "alb_lcu_hour"),
        prices.line(
            "ALB public IPv4 hours", public_addresses * HOURS_PER_MONTH, "public_ipv4_hour"
        ),
    ]


def _fargate_lines(graph: Graph, prices: PriceTable, cheaper: bool) -> list[CostLine]:
    """Fargate bills the task size asked for, per running task, whatever the task uses."""
    lines = []
    for service in graph.of_type(ECS_SERVICE):
        task = _task_definition_of(graph, service)
        tasks = float(service.inputs.get("desiredCount", 0))
        if cheaper:
            tasks = min(tasks, NON_PRODUCTION_TASKS)
        vcpus = float(task.inputs["cpu"]) / 1024  # CPU units
        memory_gb = float(task.inputs["memory"]) / 1024  # MiB
        platform = task.inputs.get("runtimePlatform") or {}
        architecture = platform.get("cpuArchitecture", DEFAULT_CPU_ARCHITECTURE)
        vcpu_key, gb_key = FARGATE_PRICE_KEYS[architecture]
        task_hours = tasks * HOURS_PER_MONTH
        lines += [
            prices.line(f"Fargate vCPU ({architecture})", task_hours * vcpus, vcpu_key),
            prices.line(f"Fargate memory ({architecture})", task_hours * memory_gb, gb_key),
        ]
    return lines


def _task_definition_of(graph: Graph, service: Resource) -> Resource:
    """The task definition a service runs: the one whose ARN its input names."""
    arn = service.inputs["taskDefinition"]
    return next(t for t in graph.of_type(TASK_DEFINITION) if t.outputs.get("arn") == arn)


def _aurora_lines(graph: Graph, prices: PriceTable, cheaper: bool) -> list[CostLine]:
    """Each Serverless v2 instance bills at least the cluster's minimum ACUs every hour."""
    lines = []
    for cluster in graph.of_type(AURORA_CLUSTER):
        instances = sum(
            1
            for instance in graph.of_type(AURORA_INSTANCE)
            if instance.inputs.get("clusterIdentifier") == cluster.id
        )
        minimum_acu = float(cluster.inputs["serverlessv2ScalingConfiguration"]["minCapacity"])
        if cheaper:
            instances = min(instances, NON_PRODUCTION_AURORA_INSTANCES)
            minimum_acu = NON_PRODUCTION_AURORA_MIN_ACU
        lines += [
            prices.line(
                "Aurora ACU-hours at minimum capacity",
                instances * minimum_acu * HOURS_PER_MONTH,
                "aurora_serverless_v2_acu_hour",
            ),
            prices.line("Aurora storage (baseline)", AURORA_STORAGE_GB, "aurora_storage_gb_month"),
            prices.line(
                "Aurora I/O (baseline)",
                AURORA_IO_MILLION_REQUESTS_PER_MONTH,
                "aurora_io_million_requests",
            ),
        ]
    return lines


def _cloudfront_lines(graph: Graph, prices: PriceTable) -> list[CostLine]:
    """CloudFront bills requests and bytes."""
    distributions = len(graph.of_type(DISTRIBUTION))
    return [
        prices.line(
            "CloudFront HTTPS requests (baseline)",
            distributions * CLOUDFRONT_REQUESTS_PER_MONTH / 10_000,
            "cloudfront_https_10k_requests",
        ),
        prices.line(
            "CloudFront data out (baseline)",
            distributions * CLOUDFRONT_GB_OUT_PER_MONTH,
            "cloudfront_gb_out_north_america",
        ),
    ]


def _secret_lines(graph: Graph, prices: PriceTable) -> list[CostLine]:
    """Each secret bills monthly, used or not: the database's logins must live somewhere."""
    return [
        prices.line(
            "Secrets Manager secrets", len(graph.of_type(SECRET)), "secrets_manager_secret_month"
        ),
    ]


def _cloudwatch_lines(graph: Graph, prices: PriceTable) -> list[CostLine]:
    """Log ingestion and storage at baseline (the flow logs' and the trail's are theirs); each
    alarm and dashboard bills monthly.

    Stored logs: a month's ingestion for each month of the longest retention, which is the
    steady state (an upper bound: AWS bills storage compressed).
    """
    stored_gb = LOG_GB_INGESTED_PER_MONTH * stored_months(graph)
    return [
        prices.line(
            "CloudWatch Logs ingestion (baseline)",
            LOG_GB_INGESTED_PER_MONTH,
            "cloudwatch_logs_ingestion_gb",
        ),
        prices.line(
            "CloudWatch Logs storage (baseline)", stored_gb, "cloudwatch_logs_storage_gb_month"
        ),
        prices.line(
            "CloudWatch alarm metrics", _alarm_metrics(graph), "cloudwatch_alarm_metric_month"
        ),
        prices.line(
            "CloudWatch custom metrics (API, EMF)",
            len(graph.of_type(ECS_SERVICE)) * api_custom_metrics(),
            "cloudwatch_custom_metric_month",
        ),
        prices.line(
            "CloudWatch dashboards", len(graph.of_type(DASHBOARD)), "cloudwatch_dashboard_month"
        ),
    ]


def _alarm_metrics(graph: Graph) -> int:
    """An alarm on one metric is one alarm metric; a metric math alarm, one per metric read."""
    return sum(
        sum(1 for query in alarm.inputs["metricQueries"] if "metric" in query)
        if "metricQueries" in alarm.inputs
        else 1
        for alarm in graph.of_type(ALARM)
    )


def api_custom_metrics(metrics: api_metrics.ApiMetrics | None = None) -> int:
    """The custom metrics the API can create: for each declared metric and dimension set, the
    product of its dimensions' value counts (API_DIMENSION_VALUES; 1 for no dimension)."""
    declared = metrics or api_metrics.declared()
    total = 0
    for metric in declared.all_metrics:
        for dimension_set in metric.dimension_sets:
            combinations = 1
            for dimension in dimension_set:
                combinations *= API_DIMENSION_VALUES[dimension]
            total += combinations
    return total


def _negligible_lines(prices: PriceTable) -> list[CostLine]:
    """SNS, SQS and Lambda: listed so they are not forgotten, at zero baseline usage."""
    return [
        prices.line("SNS publishes", SNS_MILLION_PUBLISHES_PER_MONTH, "sns_million_publishes"),
        prices.line("SQS requests", SQS_MILLION_REQUESTS_PER_MONTH, "sqs_million_requests"),
        prices.line(
            "Lambda requests", LAMBDA_MILLION_REQUESTS_PER_MONTH, "lambda_million_requests"
        ),
        prices.line("Lambda compute", LAMBDA_GB_SECONDS_PER_MONTH, "lambda_arm64_gb_second"),
    ]
