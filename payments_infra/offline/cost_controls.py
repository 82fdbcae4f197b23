"""The lines of the controls the stack adds to the minimal highly available platform, each
tagged with its ``Part``; cost.py assembles them with the platform's into the estimate.

Always built: the WAF web ACLs, the customer-managed keys, the VPC flow logs and the VPC's DNS
Firewall with its query logs (per domain listed, per query, the logs' volume); on by default:
the interface endpoints (``payments:vpcEndpoints``). Priced from the graph like the platform.

Opt-in: the account controls (``payments:accountControls``, components/account/): the trail,
GuardDuty's detector, Security Hub with PCI DSS v4.0.1, AWS Config's recorder, and the trail's
audit key. They bill by what the whole account does, so their usage is an estimate
(``cost_assumptions.py``, dated), priced at the list prices of ``prices_us_east_1.json``:

- CloudTrail: the first copy of management events is free (the preflight refuses a second
  trail), so the trail costs its events copied into CloudWatch Logs, and its key;
- GuardDuty: the management events and the VPC's flow and DNS logs it analyses. The protection
  plans AWS turns on for a new detector (S3, RDS login activity, Lambda network activity)
  bill by their own usage and are not priced (docs/cost.md);
- Security Hub CSPM: each security check (its findings on its own checks are free, and the
  AWS Config rules it runs are paid as its checks);
- AWS Config: each configuration item recorded, continuous recording.

Opt-in: the log archive (``payments:logArchive: s3``, components/observability/log_archive.py):
every log group's events through Firehose into S3, kept ``ARCHIVE_DAYS``, in Glacier Instant
Retrieval after ``ARCHIVE_HOT_DAYS``: the steady state, once the archive is a year old.

The opt-in parts are priced from counts (``AccountControlCounts``, the archive's streams), read
from the graph by ``cost.estimate``, or one of each for what a part would cost if turned on
(cost_report.py).
"""

from __future__ import annotations

from dataclasses import dataclass

from payments_infra.components.observability.log_archive import ARCHIVE_DAYS, ARCHIVE_HOT_DAYS
from payments_infra.offline.cost_assumptions import (
    AWS_API_GB_PER_MONTH,
    CLOUDTRAIL_LOG_GB_PER_MONTH,
    CONFIG_ITEMS_PER_MONTH,
    DNS_MILLION_QUERIES_PER_MONTH,
    DNS_QUERY_LOG_GB_PER_MONTH,
    FLOW_LOG_GB_PER_MONTH,
    GUARDDUTY_FLOW_DNS_GB_PER_MONTH,
    GUARDDUTY_MILLION_EVENTS_PER_MONTH,
    LOG_GB_INGESTED_PER_MONTH,
    NAT_GB_PROCESSED_PER_MONTH,
    SECURITY_HUB_CHECKS_PER_MONTH,
    WAF_REQUESTS_PER_MONTH,
)
from payments_infra.offline.graph import Graph, Resource
from payments_infra.offline.price_table import CostLine, Part, PriceTable

VPC_ENDPOINT = "aws:ec2/vpcEndpoint:VpcEndpoint"
WEB_ACL = "aws:wafv2/webAcl:WebAcl"
KMS_KEY = "aws:kms/key:Key"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
FLOW_LOG = "aws:ec2/flowLog:FlowLog"
DOMAIN_LIST = "aws:route53/resolverFirewallDomainList:ResolverFirewallDomainList"
FIREWALL_ASSOCIATION = (
    "aws:route53/resolverFirewallRuleGroupAssociation:ResolverFirewallRuleGroupAssociation"
)
QUERY_LOG_ASSOCIATION = (
    "aws:route53/resolverQueryLogConfigAssociation:ResolverQueryLogConfigAssociation"
)
METRIC_FILTER = "aws:cloudwatch/logMetricFilter:LogMetricFilter"
ACCOUNT_CONTROLS_COMPONENT = "payments:account:AccountControls"
TRAIL = "aws:cloudtrail/trail:Trail"
DETECTOR = "aws:guardduty/detector:Detector"
SECURITY_HUB = "aws:securityhub/account:Account"
CONFIG_RECORDER = "aws:cfg/recorder:Recorder"
FIREHOSE_STREAM = "aws:kinesis/firehoseDeliveryStream:FirehoseDeliveryStream"
DAYS_PER_STORED_MONTH = 30  # a stored month, as for CloudWatch Logs (stored_months)


def interface_endpoints(graph: Graph) -> list[Resource]:
    return [
        e for e in graph.of_type(VPC_ENDPOINT) if e.inputs.get("vpcEndpointType") == "Interface"
    ]


def endpoint_zones(graph: Graph) -> int:
    """Network interfaces of the interface endpoints: one per subnet of each."""
    return sum(len(e.inputs.get("subnetIds", [])) for e in interface_endpoints(graph))


def endpoint_lines(prices: PriceTable, *, zone_hours: float, nat_gateways: bool) -> list[CostLine]:
    """Interface endpoints bill each hour in each zone they have a network interface in (one per
    subnet), busy or idle, and per GB; AWS's API traffic they carry is no longer processed by
    the NAT gateways (a line of its own, negative). The S3 gateway endpoint is free."""
    part = Part.VPC_ENDPOINTS
    carried = AWS_API_GB_PER_MONTH if zone_hours else 0.0
    moved = min(carried, NAT_GB_PROCESSED_PER_MONTH) if nat_gateways else 0.0
    return [
        prices.line(
            "VPC interface endpoint AZ-hours", zone_hours, "interface_endpoint_az_hour", part
        ),
        prices.line(
            "VPC endpoint data processed (baseline)",
            carried,
            "interface_endpoint_gb_processed",
            part,
        ),
        prices.line(
            "NAT data moved to endpoints (baseline)", -moved, "nat_gateway_gb_processed", part
        ),
    ]


def waf_lines(graph: Graph, prices: PriceTable) -> list[CostLine]:
    """WAF bills each web ACL, each rule (a rule group counts as one) and requests."""
    web_acls = graph.of_type(WEB_ACL)
    rules = sum(len(acl.inputs.get("rules", [])) for acl in web_acls)
    return [
        prices.line("WAF web ACLs", len(web_acls), "waf_web_acl_month", Part.WAF),
        prices.line("WAF rules", rules, "waf_rule_month", Part.WAF),
        prices.line(
            "WAF requests (baseline)",
            len(web_acls) * WAF_REQUESTS_PER_MONTH / 1_000_000,
            "waf_million_requests",
            Part.WAF,
        ),
    ]


def key_lines(graph: Graph, prices: PriceTable) -> list[CostLine]:
    """Each customer-managed key bills monthly, used or not (AWS-managed keys are free); the
    account controls' audit key is theirs (``account_control_lines``)."""
    keys = [key for key in graph.of_type(KMS_KEY) if not is_account_controls(graph, key)]
    return [prices.line("KMS customer-managed keys", len(keys), "kms_key_month", Part.KMS_KEYS)]


def flow_log_lines(graph: Graph, prices: PriceTable) -> list[CostLine]:
    """The flow logs into CloudWatch Logs: vended logs, at the same price per GB as the others
    up to 10 TB a month; kept as long as the other log groups."""
    flow_gb = flow_logs_to_cloudwatch(graph) * FLOW_LOG_GB_PER_MONTH
    part = Part.FLOW_LOGS
    return [
        prices.line(
            "VPC flow logs ingestion (baseline)", flow_gb, "cloudwatch_logs_ingestion_gb", part
        ),
        prices.line(
            "VPC flow logs storage (baseline)",
            flow_gb * stored_months(graph),
            "cloudwatch_logs_storage_gb_month",
            part,
        ),
    ]


def dns_firewall_lines(graph: Graph, prices: PriceTable) -> list[CostLine]:
    """DNS Firewall bills each domain of its lists and each query it processes; the query logs
    are vended logs into CloudWatch Logs, like the flow logs; the blocked-queries filter makes
    one custom metric (its alarm is with the others)."""
    domains = sum(len(d.inputs.get("domains") or []) for d in graph.of_type(DOMAIN_LIST))
    queries = len(graph.of_type(FIREWALL_ASSOCIATION)) * DNS_MILLION_QUERIES_PER_MONTH
    log_gb = dns_query_log_gb(graph)
    part = Part.DNS_FIREWALL
    return [
        prices.line("DNS Firewall domains", domains, "dns_firewall_domain_month", part),
        prices.line(
            "DNS Firewall queries (baseline)", queries, "dns_firewall_million_queries", part
        ),
        prices.line(
            "DNS query logs ingestion (baseline)", log_gb, "cloudwatch_logs_ingestion_gb", part
        ),
        prices.line(
            "DNS query logs storage (baseline)",
            log_gb * stored_months(graph),
            "cloudwatch_logs_storage_gb_month",
            part,
        ),
        prices.line(
            "DNS blocked-queries metric",
            len(graph.of_type(METRIC_FILTER)),
            "cloudwatch_custom_metric_month",
            part,
        ),
    ]


def dns_query_log_gb(graph: Graph) -> float:
    return len(graph.of_type(QUERY_LOG_ASSOCIATION)) * DNS_QUERY_LOG_GB_PER_MONTH


def flow_logs_to_cloudwatch(graph: Graph) -> int:
    return sum(
        1
        for flow_log in graph.of_type(FLOW_LOG)
        if flow_log.inputs.get("logDestinationType", "cloud-watch-logs") == "cloud-watch-logs"
    )


def stored_months(graph: Graph) -> float:
    """Months of ingestion CloudWatch Logs holds at the steady state: the longest retention."""
    retention_days = max(
        (float(group.inputs.get("retentionInDays", 0)) for group in graph.of_type(LOG_GROUP)),
        default=0.0,
    )
    return retention_days / 30


def logs_ingested_gb(graph: Graph) -> float:
    """Every GB CloudWatch Logs ingests a month: the stack's log groups, the flow logs, the DNS
    query logs and the trail's events (what the log archive copies)."""
    trail_gb = AccountControlCounts.of(graph).trails_to_logs * CLOUDTRAIL_LOG_GB_PER_MONTH
    flow_gb = flow_logs_to_cloudwatch(graph) * FLOW_LOG_GB_PER_MONTH
    return LOG_GB_INGESTED_PER_MONTH + flow_gb + trail_gb + dns_query_log_gb(graph)


# -- the opt-in parts ----------------------------------------------------------------------------


def owner_component(graph: Graph, resource: Resource) -> str:
    """The type of the nearest component enclosing ``resource`` ("" at the top)."""
    known = {r.urn: r for r in graph}
    parent = resource.parent
    while parent in known:
        owner = known[parent]
        if not owner.custom:
            return owner.type
        parent = owner.parent
    return ""


def is_account_controls(graph: Graph, resource: Resource) -> bool:
    """Whether ``resource`` belongs to the account controls (their audit key, say)."""
    return owner_component(graph, resource) == ACCOUNT_CONTROLS_COMPONENT


@dataclass(frozen=True)
class AccountControlCounts:
    """How many of each account control the graph holds (all 0 with the setting off)."""

    trails_to_logs: int = 0
    """Trails that also copy their events into a CloudWatch Logs group."""
    detectors: int = 0
    hubs: int = 0
    recorders: int = 0
    keys: int = 0
    """Customer-managed keys of the account controls (the trail's audit key)."""

    @classmethod
    def of(cls, graph: Graph) -> AccountControlCounts:
        return cls(
            trails_to_logs=sum(
                1 for trail in graph.of_type(TRAIL) if trail.inputs.get("cloudWatchLogsGroupArn")
            ),
            detectors=len(graph.of_type(DETECTOR)),
            hubs=len(graph.of_type(SECURITY_HUB)),
            recorders=len(graph.of_type(CONFIG_RECORDER)),
            keys=sum(1 for key in graph.of_type(KMS_KEY) if is_account_controls(graph, key)),
        )


# What the account controls are when turned on: one of each (they are one per account).
ONE_OF_EACH = AccountControlCounts(trails_to_logs=1, detectors=1, hubs=1, recorders=1, keys=1)


def account_control_lines(
    prices: PriceTable, counts: AccountControlCounts, stored_months: float
) -> list[CostLine]:
    """The account controls' lines; ``stored_months``: how many months of the trail's events
    CloudWatch Logs keeps (its retention, as for the stack's other log groups)."""
    part = Part.ACCOUNT_CONTROLS
    trail_gb = counts.trails_to_logs * CLOUDTRAIL_LOG_GB_PER_MONTH
    return [
        prices.line(
            "CloudTrail logs ingestion (estimate)", trail_gb, "cloudwatch_logs_ingestion_gb", part
        ),
        prices.line(
            "CloudTrail logs storage (estimate)",
            trail_gb * stored_months,
            "cloudwatch_logs_storage_gb_month",
            part,
        ),
        prices.line("KMS key of the audit trail", counts.keys, "kms_key_month", part),
        prices.line(
            "GuardDuty events analysed (estimate)",
            counts.detectors * GUARDDUTY_MILLION_EVENTS_PER_MONTH,
            "guardduty_million_events",
            part,
        ),
        prices.line(
            "GuardDuty flow and DNS logs (estimate)",
            counts.detectors * GUARDDUTY_FLOW_DNS_GB_PER_MONTH,
            "guardduty_flow_dns_gb",
            part,
        ),
        prices.line(
            "Security Hub checks (estimate)",
            counts.hubs * SECURITY_HUB_CHECKS_PER_MONTH,
            "security_hub_check",
            part,
        ),
        prices.line(
            "Config items recorded (estimate)",
            counts.recorders * CONFIG_ITEMS_PER_MONTH,
            "config_item_recorded",
            part,
        ),
    ]


def log_archive_lines(prices: PriceTable, streams: int, log_gb: float) -> list[CostLine]:
    """Firehose ingestion of ``log_gb`` a month (every log group's), and the archive's storage
    once a year old: ``ARCHIVE_HOT_DAYS`` of it in S3 Standard, the rest in Glacier Instant
    Retrieval. An upper bound: CloudWatch Logs sends Firehose its events compressed."""
    part = Part.LOG_ARCHIVE
    archived = streams * log_gb
    hot_months = ARCHIVE_HOT_DAYS / DAYS_PER_STORED_MONTH
    cold_months = (ARCHIVE_DAYS - ARCHIVE_HOT_DAYS) / DAYS_PER_STORED_MONTH
    return [
        prices.line("Log archive: Firehose (baseline)", archived, "firehose_gb_ingested", part),
        prices.line(
            "Log archive: S3 Standard (baseline)",
            archived * hot_months,
            "s3_standard_gb_month",
            part,
        ),
        prices.line(
            "Log archive: Glacier IR (baseline)",
            archived * cold_months,
            "s3_glacier_ir_gb_month",
            part,
        ),
    ]


def log_archive_streams(graph: Graph) -> int:
    """The log archive's Firehose streams (one with payments:logArchive: s3, else none)."""
    return len(graph.of_type(FIREHOSE_STREAM))
