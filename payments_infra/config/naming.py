"""Physical AWS names: ``{resource-type}-{environmentSuffix}``, checked against AWS's rules.

Every physical name the stack gives AWS is made here, from ``NAMES``: a catalogue of the
name prefixes the platform uses, each with the AWS naming rule of its resource kind. The
longest suffix a stack may use is derived from the tightest of them, so an accepted suffix is
valid for every resource of every tier.

Nothing here talks to Pulumi or AWS: plain functions, plain tests.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from payments_infra.config.name_rules import (
    ALARM,
    ALB,
    CLOUDFRONT_NAME,
    CLOUDTRAIL_TRAIL,
    CONFIG_NAME,
    DASHBOARD,
    ECR_REPOSITORY,
    ECS_NAME,
    EVENT_RULE,
    FIREHOSE_STREAM,
    IAM_POLICY,
    IAM_ROLE,
    KMS_ALIAS,
    LAMBDA_FUNCTION,
    LOG_DELIVERY,
    LOG_GROUP,
    METRIC_FILTER,
    RDS_GROUP,
    RDS_IDENTIFIER,
    RESOLVER_NAME,
    S3_BUCKET,
    SCALING_POLICY,
    SECRET,
    SECURITY_GROUP,
    SNS_TOPIC,
    SQS_QUEUE,
    TAG_VALUE,
    TARGET_GROUP,
    WAF_NAME,
    NameRule,
)

SUFFIX_KEY = "payments:environmentSuffix"


@dataclass(frozen=True)
class PhysicalName:
    """One physical name the platform uses: ``{prefix}-{suffix}{tail}`` under one AWS rule.

    ``tail`` is for names whose form AWS fixes around ours, such as the log group RDS
    exports to: ``/aws/rds/cluster/aurora-cluster-{suffix}/postgresql``.
    """

    prefix: str
    rule: NameRule
    tail: str = ""

    def format(self, suffix: str) -> str:
        return f"{self.prefix}-{suffix}{self.tail}"

    @property
    def room_for_suffix(self) -> int:
        """How long a suffix can be before this name breaks its AWS length limit."""
        return self.rule.max_length - len(self.prefix) - 1 - len(self.tail)


# Every physical name of the platform, one attribute each, so that a type checker knows them
# all: ``physical_name(Names.alb, suffix)``. `tests/unit/test_naming.py` checks every name of
# every suffix against its rule, and the graph check (checks_conventions.check_names) that the
# program names nothing outside this catalogue but the security-group rules, named after their
# arrow (``arrow_name``).
class Names:
    """Every physical name of the platform but the per-zone ones (``PerAzNames``)."""

    # the stack's own break-glass role (aws/access.py): reads the secrets, administers the keys
    break_glass_role = PhysicalName("break-glass", IAM_ROLE)
    break_glass_policy = PhysicalName("break-glass-policy", IAM_POLICY)
    # network
    vpc = PhysicalName("vpc", TAG_VALUE)
    internet_gateway = PhysicalName("igw", TAG_VALUE)
    public_route_table = PhysicalName("rtb-public", TAG_VALUE)
    default_security_group = PhysicalName("default-sg", TAG_VALUE)
    s3_endpoint = PhysicalName("vpce-s3", TAG_VALUE)
    # interface VPC endpoints (endpoints.py): one per service, each with its own group
    endpoint_ecr_api = PhysicalName("vpce-ecr-api", TAG_VALUE)
    endpoint_ecr_dkr = PhysicalName("vpce-ecr-dkr", TAG_VALUE)
    endpoint_logs = PhysicalName("vpce-logs", TAG_VALUE)
    endpoint_secretsmanager = PhysicalName("vpce-secretsmanager", TAG_VALUE)
    endpoint_ecr_api_security_group = PhysicalName("vpce-ecr-api-sg", SECURITY_GROUP)
    endpoint_ecr_dkr_security_group = PhysicalName("vpce-ecr-dkr-sg", SECURITY_GROUP)
    endpoint_logs_security_group = PhysicalName("vpce-logs-sg", SECURITY_GROUP)
    endpoint_secretsmanager_security_group = PhysicalName("vpce-secretsmanager-sg", SECURITY_GROUP)
    flow_log = PhysicalName("flow-log", TAG_VALUE)
    flow_log_group = PhysicalName("/aws/vpc/flow-logs", LOG_GROUP)
    flow_log_role = PhysicalName("vpc-flow-logs-role", IAM_ROLE)
    flow_log_policy = PhysicalName("vpc-flow-logs-policy", IAM_POLICY)
    # The VPC's DNS Firewall and query logs (dns_firewall.py)
    dns_allowed_domains = PhysicalName("dns-allowed", RESOLVER_NAME)
    dns_every_domain = PhysicalName("dns-every-domain", RESOLVER_NAME)
    dns_firewall = PhysicalName("dns-firewall", RESOLVER_NAME)
    dns_allow_rule = PhysicalName("dns-allow", RESOLVER_NAME)
    dns_block_rule = PhysicalName("dns-block-the-rest", RESOLVER_NAME)
    dns_firewall_association = PhysicalName("dns-firewall-vpc", RESOLVER_NAME)
    dns_query_log_config = PhysicalName("dns-query-logs", RESOLVER_NAME)
    dns_query_log_group = PhysicalName("/aws/route53resolver/dns-queries", LOG_GROUP)
    dns_query_log_policy = PhysicalName("dns-query-log-delivery", TAG_VALUE)
    dns_blocked_filter = PhysicalName("dns-blocked-queries", METRIC_FILTER)
    # data tier
    db_cluster = PhysicalName("aurora-cluster", RDS_IDENTIFIER)
    # The snapshot RDS takes when a protected cluster (payments:protectData) is deleted.
    # DeleteDBCluster allows 255 characters, but every other snapshot call 63: held to those.
    db_final_snapshot = PhysicalName("aurora-cluster", RDS_IDENTIFIER, tail="-final")
    db_instance_writer = PhysicalName("aurora-writer", RDS_IDENTIFIER)
    db_instance_reader = PhysicalName("aurora-reader", RDS_IDENTIFIER)
    db_subnet_group = PhysicalName("db-subnet-group", RDS_GROUP)
    db_cluster_parameter_group = PhysicalName("aurora-cluster-params", RDS_GROUP)
    db_security_group = PhysicalName("db-sg", SECURITY_GROUP)
    db_kms_key = PhysicalName("aurora-key", TAG_VALUE)
    db_kms_alias = PhysicalName("alias/aurora", KMS_ALIAS)
    # The master user's secret (migrations and rotation only), and one per login (aurora.py).
    db_master_secret = PhysicalName("db-master-credentials", SECRET)
    db_app_secret = PhysicalName("db-app-credentials", SECRET)
    db_keys_secret = PhysicalName("db-keys-credentials", SECRET)
    db_rotation_function = PhysicalName("db-password-rotation", LAMBDA_FUNCTION)
    db_rotation_log_group = PhysicalName("/aws/lambda/db-password-rotation", LOG_GROUP)
    db_rotation_role = PhysicalName("db-password-rotation-role", IAM_ROLE)
    db_rotation_policy = PhysicalName("db-password-rotation-policy", IAM_POLICY)
    db_rotation_security_group = PhysicalName("db-rotation-sg", SECURITY_GROUP)
    db_log_group = PhysicalName("/aws/rds/cluster/aurora-cluster", LOG_GROUP, tail="/postgresql")
    db_monitoring_role = PhysicalName("aurora-monitoring-role", IAM_ROLE)
    # API tier
    alb = PhysicalName("alb", ALB)
    target_group = PhysicalName("tg-api", TARGET_GROUP)
    alb_security_group = PhysicalName("alb-sg", SECURITY_GROUP)
    task_security_group = PhysicalName("api-tasks-sg", SECURITY_GROUP)
    alb_logs_bucket = PhysicalName("alb-logs", S3_BUCKET)
    ecs_cluster = PhysicalName("ecs-cluster", ECS_NAME)
    ecs_service = PhysicalName("api-service", ECS_NAME)
    task_family = PhysicalName("api", ECS_NAME)
    ecr_repository = PhysicalName("api", ECR_REPOSITORY)
    ecr_kms_key = PhysicalName("ecr-key", TAG_VALUE)
    ecr_kms_alias = PhysicalName("alias/ecr", KMS_ALIAS)
    api_log_group = PhysicalName("/ecs/api", LOG_GROUP)
    task_execution_role = PhysicalName("ecs-task-execution-role", IAM_ROLE)
    task_role = PhysicalName("ecs-task-role", IAM_ROLE)
    task_execution_policy = PhysicalName("ecs-task-execution-policy", IAM_POLICY)
    task_policy = PhysicalName("ecs-task-policy", IAM_POLICY)
    # The one-off tasks (one_off_tasks.py): the migrations, run at each deploy, and the key
    # CLI, run by the key operator.
    migrations_task_family = PhysicalName("migrations", ECS_NAME)
    migrations_log_group = PhysicalName("/ecs/migrations", LOG_GROUP)
    migrations_execution_role = PhysicalName("ecs-migrations-execution-role", IAM_ROLE)
    migrations_execution_policy = PhysicalName("ecs-migrations-execution-policy", IAM_POLICY)
    migration_runner_function = PhysicalName("db-migrate", LAMBDA_FUNCTION)
    migration_runner_log_group = PhysicalName("/aws/lambda/db-migrate", LOG_GROUP)
    migration_runner_role = PhysicalName("db-migrate-role", IAM_ROLE)
    migration_runner_policy = PhysicalName("db-migrate-policy", IAM_POLICY)
    keys_task_family = PhysicalName("api-keys", ECS_NAME)
    keys_log_group = PhysicalName("/ecs/api-keys", LOG_GROUP)
    keys_execution_role = PhysicalName("ecs-keys-execution-role", IAM_ROLE)
    keys_execution_policy = PhysicalName("ecs-keys-execution-policy", IAM_POLICY)
    alb_listener = PhysicalName("alb-https-listener", TAG_VALUE)
    alb_rule_from_cloudfront = PhysicalName("alb-rule-from-cloudfront", TAG_VALUE)
    alb_rule_api_paths = PhysicalName("alb-rule-api-paths", TAG_VALUE)
    alb_web_acl = PhysicalName("waf-alb", WAF_NAME)
    alb_waf_log_group = PhysicalName("aws-waf-logs-alb", LOG_GROUP)
    alb_waf_origin_rule_group = PhysicalName("waf-alb-cloudfront-origin", WAF_NAME)
    origin_header_secret = PhysicalName("cloudfront-origin-header", SECRET)
    origin_header_kms_key = PhysicalName("origin-header-key", TAG_VALUE)
    origin_header_kms_alias = PhysicalName("alias/origin-header", KMS_ALIAS)
    origin_rotation_function = PhysicalName("origin-header-rotation", LAMBDA_FUNCTION)
    origin_rotation_log_group = PhysicalName("/aws/lambda/origin-header-rotation", LOG_GROUP)
    origin_rotation_role = PhysicalName("origin-header-rotation-role", IAM_ROLE)
    origin_rotation_policy = PhysicalName("origin-header-rotation-policy", IAM_POLICY)
    container_insights_log_group = PhysicalName(
        "/aws/ecs/containerinsights/ecs-cluster", LOG_GROUP, tail="/performance"
    )
    scaling_target = PhysicalName("api-scaling", TAG_VALUE)
    scaling_policy_cpu = PhysicalName("api-cpu-70", SCALING_POLICY)
    scaling_policy_memory = PhysicalName("api-memory-80", SCALING_POLICY)
    api_certificate = PhysicalName("api-cert", TAG_VALUE)
    cloudfront_certificate = PhysicalName("cloudfront-cert", TAG_VALUE)
    # frontend tier
    frontend_bucket = PhysicalName("frontend", S3_BUCKET)
    web_acl = PhysicalName("waf-frontend", WAF_NAME)
    waf_log_group = PhysicalName("aws-waf-logs", LOG_GROUP)
    frontend_object = PhysicalName("frontend-object", TAG_VALUE)
    origin_access_control = PhysicalName("frontend-oac", CLOUDFRONT_NAME)
    spa_function = PhysicalName("spa-rewrite", CLOUDFRONT_NAME)
    response_headers_policy = PhysicalName("security-headers", CLOUDFRONT_NAME)
    distribution = PhysicalName("cdn", TAG_VALUE)
    cloudfront_log_group = PhysicalName("/aws/cloudfront/frontend", LOG_GROUP)
    cloudfront_log_source = PhysicalName("cloudfront", LOG_DELIVERY)
    cloudfront_log_destination = PhysicalName("cloudfront-logs", LOG_DELIVERY)
    cloudfront_log_delivery = PhysicalName("cloudfront-log-delivery", TAG_VALUE)
    # observability
    alerts_topic = PhysicalName("alerts", SNS_TOPIC)
    dashboard = PhysicalName("payments", DASHBOARD)
    alb_log_forwarder = PhysicalName("alb-log-forwarder", LAMBDA_FUNCTION)
    alb_log_forwarder_role = PhysicalName("alb-log-forwarder-role", IAM_ROLE)
    alb_access_log_group = PhysicalName("/aws/alb/access/alb", LOG_GROUP)
    logs_kms_key = PhysicalName("logs-key", TAG_VALUE)
    logs_kms_alias = PhysicalName("alias/logs", KMS_ALIAS)
    alb_log_forwarder_policy = PhysicalName("alb-log-forwarder-policy", IAM_POLICY)
    alb_log_forwarder_log_group = PhysicalName("/aws/lambda/alb-log-forwarder", LOG_GROUP)
    alb_log_forwarder_dlq = PhysicalName("alb-log-forwarder-failures", SQS_QUEUE)
    alb_log_source = PhysicalName("alb-access", LOG_DELIVERY)
    alb_log_destination = PhysicalName("alb-access-logs", LOG_DELIVERY)
    alb_log_delivery = PhysicalName("alb-access-log-delivery", TAG_VALUE)
    log_archive_bucket = PhysicalName("log-archive", S3_BUCKET)
    log_archive_stream = PhysicalName("log-archive", FIREHOSE_STREAM)
    log_archive_filter = PhysicalName("log-archive", TAG_VALUE)
    log_archive_firehose_role = PhysicalName("log-archive-firehose-role", IAM_ROLE)
    log_archive_firehose_policy = PhysicalName("log-archive-firehose-policy", IAM_POLICY)
    log_archive_logs_role = PhysicalName("log-archive-logs-role", IAM_ROLE)
    log_archive_logs_policy = PhysicalName("log-archive-logs-policy", IAM_POLICY)
    # account controls (payments:accountControls)
    audit_kms_key = PhysicalName("audit-key", TAG_VALUE)
    audit_kms_alias = PhysicalName("alias/audit", KMS_ALIAS)
    cloudtrail_trail = PhysicalName("trail", CLOUDTRAIL_TRAIL)
    cloudtrail_bucket = PhysicalName("cloudtrail-logs", S3_BUCKET)
    cloudtrail_log_group = PhysicalName("/aws/cloudtrail/trail", LOG_GROUP)
    cloudtrail_role = PhysicalName("cloudtrail-logs-role", IAM_ROLE)
    cloudtrail_policy = PhysicalName("cloudtrail-logs-policy", IAM_POLICY)
    guardduty_detector = PhysicalName("guardduty", TAG_VALUE)
    config_recorder = PhysicalName("config-recorder", CONFIG_NAME)
    config_delivery_channel = PhysicalName("config-delivery", CONFIG_NAME)
    config_bucket = PhysicalName("config-history", S3_BUCKET)
    config_role = PhysicalName("config-recorder-role", IAM_ROLE)
    config_policy = PhysicalName("config-recorder-policy", IAM_POLICY)
    # The findings sent to on-call (findings.py): one EventBridge rule per service.
    guardduty_findings_rule = PhysicalName("guardduty-findings", EVENT_RULE)
    security_hub_findings_rule = PhysicalName("securityhub-findings", EVENT_RULE)
    # And the use of break-glass-{suffix} (break_glass_alert.py).
    break_glass_rule = PhysicalName("break-glass-used", EVENT_RULE)
    # Alarms (Observability creates them all), by the tier that watches itself with them.
    alarm_alb_5xx = PhysicalName("alarm-alb-5xx", ALARM)
    alarm_target_5xx = PhysicalName("alarm-target-5xx", ALARM)
    alarm_target_p99 = PhysicalName("alarm-target-p99", ALARM)
    alarm_unhealthy_hosts = PhysicalName("alarm-unhealthy-hosts", ALARM)
    alarm_alb_waf_blocked = PhysicalName("alarm-alb-waf-blocked", ALARM)
    alarm_running_tasks = PhysicalName("alarm-running-tasks", ALARM)
    alarm_ecs_cpu = PhysicalName("alarm-ecs-cpu", ALARM)
    alarm_ecs_memory = PhysicalName("alarm-ecs-memory", ALARM)
    alarm_no_payments = PhysicalName("alarm-no-payments", ALARM)
    alarm_api_error_rate = PhysicalName("alarm-api-error-rate", ALARM)
    alarm_api_p99 = PhysicalName("alarm-api-p99", ALARM)
    alarm_auth_failures = PhysicalName("alarm-auth-failures", ALARM)
    alarm_api_metrics_missing = PhysicalName("alarm-api-metrics-missing", ALARM)
    alarm_db_cpu = PhysicalName("alarm-db-cpu", ALARM)
    alarm_db_memory = PhysicalName("alarm-db-memory", ALARM)
    alarm_db_connections = PhysicalName("alarm-db-connections", ALARM)
    alarm_db_replica_lag = PhysicalName("alarm-db-replica-lag", ALARM)
    alarm_db_rotation_errors = PhysicalName("alarm-db-rotation-errors", ALARM)
    alarm_origin_rotation_errors = PhysicalName("alarm-origin-rotation-errors", ALARM)
    alarm_waf_blocked = PhysicalName("alarm-waf-blocked", ALARM)
    alarm_forwarder_errors = PhysicalName("alarm-forwarder-errors", ALARM)
    alarm_forwarder_dead_letters = PhysicalName("alarm-forwarder-dead-letters", ALARM)
    alarm_dns_blocked = PhysicalName("alarm-dns-blocked", ALARM)
    alarm_guardduty_findings_failed = PhysicalName("alarm-guardduty-findings-failed", ALARM)
    alarm_securityhub_findings_failed = PhysicalName("alarm-securityhub-findings-failed", ALARM)
    alarm_break_glass_alert_failed = PhysicalName("alarm-break-glass-alert-failed", ALARM)


# Names made per availability zone put the AZ between prefix and suffix. The zone names are
# us-east-1a..us-east-1f: no longer than this.
LONGEST_AZ_NAME = "us-east-1a"


class PerAzNames:
    """The names made once per availability zone: ``{prefix}-{zone}-{suffix}``."""

    public_subnet = PhysicalName("subnet-public", TAG_VALUE)
    private_subnet = PhysicalName("subnet-private", TAG_VALUE)
    private_route_table = PhysicalName("rtb-private", TAG_VALUE)
    nat_eip = PhysicalName("eip-nat", TAG_VALUE)
    nat_gateway = PhysicalName("nat", TAG_VALUE)
    alarm_nat_ports = PhysicalName("alarm-nat-ports", ALARM)


def entries(catalogue: type[Names] | type[PerAzNames]) -> dict[str, PhysicalName]:
    """Every name of a catalogue class, by attribute."""
    return {k: v for k, v in vars(catalogue).items() if isinstance(v, PhysicalName)}


def _binding_limit() -> tuple[int, str]:
    """The longest suffix every catalogue name can take, and the name that sets it."""
    candidates = [(n.room_for_suffix, n.format("{suffix}")) for n in entries(Names).values()]
    candidates += [
        (n.room_for_suffix - len(LONGEST_AZ_NAME) - 1, f"{n.prefix}-{LONGEST_AZ_NAME}-{{suffix}}")
        for n in entries(PerAzNames).values()
    ]
    room, template = min(candidates)
    return room, template


MAX_SUFFIX_LENGTH, BINDING_NAME = _binding_limit()


def suffix_problems(suffix: str) -> list[str]:
    """Every rule ``suffix`` breaks, as ``<key> must <rule>; got <value>`` sentences."""
    key, got = SUFFIX_KEY, f'got "{suffix}"'
    if suffix == "":
        return [
            f"{key} must be set to a short lowercase name such as prod1 "
            f"(pulumi config set {key} prod1); got nothing"
        ]
    found = []
    if not re.fullmatch(r"[a-z0-9-]+", suffix):
        found.append(f"{key} must contain only lowercase letters, digits and hyphens; {got}")
    if not re.match(r"[a-z]", suffix):
        found.append(f"{key} must start with a lowercase letter; {got}")
    if suffix.endswith("-"):
        found.append(f"{key} must not end with a hyphen; {got}")
    if "--" in suffix:
        found.append(f"{key} must not contain two hyphens in a row (RDS forbids it); {got}")
    if len(suffix) > MAX_SUFFIX_LENGTH:
        found.append(
            f"{key} must be at most {MAX_SUFFIX_LENGTH} characters, so that "
            f'"{BINDING_NAME}" fits its AWS limit; got "{suffix}" ({len(suffix)} characters)'
        )
    return found


def physical_name(name: PhysicalName, suffix: str) -> str:
    """The physical name ``name`` (an attribute of ``Names``) takes in this stack, e.g.
    ``physical_name(Names.alb, "prod1") == "alb-prod1"``."""
    return name.format(suffix)


# A security-group rule draws one arrow of the diagram (aws/security_groups.py ``allow``) and is
# named after it: ``{source}-to-{target}-{suffix}``, each end a group's or a peer's label.
ARROW = re.compile(r"[a-z0-9][a-z0-9._]*(?:-[a-z0-9._]+)*-to-[a-z0-9][a-z0-9._]*(?:-[a-z0-9._]+)*")


def arrow_name(source: str, target: str, suffix: str) -> str:
    """The Name tag of both rules of the arrow ``source`` -> ``target``."""
    return f"{source}-to-{target}-{suffix}"


def is_arrow_name(name: str, suffix: str) -> bool:
    """Whether ``name`` is an arrow's name for this suffix (``arrow_name``)."""
    end = f"-{suffix}"
    return name.endswith(end) and ARROW.fullmatch(name[: -len(end)]) is not None


def per_az_name(name: PhysicalName, availability_zone: str, suffix: str) -> str:
    """The physical name of a per-AZ resource (``PerAzNames``), e.g. ``nat-us-east-1a-prod1``."""
    return f"{name.prefix}-{availability_zone}-{suffix}"


def all_names(suffix: str, availability_zones: list[str]) -> list[tuple[str, NameRule]]:
    """Every catalogue name for this suffix and these zones, with the rule it must meet."""
    names = [(entry.format(suffix), entry.rule) for entry in entries(Names).values()]
    names += [
        (per_az_name(entry, zone, suffix), entry.rule)
        for entry in entries(PerAzNames).values()
        for zone in availability_zones
    ]
    return names
