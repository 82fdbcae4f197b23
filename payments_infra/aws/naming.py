"""Physical AWS names: ``{resource-type}-{environmentSuffix}``, checked against AWS's rules.

Every physical name the stack gives AWS is made here, from ``NAMES``: a catalogue of the
name prefixes the platform uses, each with the AWS naming rule of its resource kind. The
longest suffix a stack may use is derived from the tightest of them, so an accepted suffix is
valid for every resource of every tier.

Nothing here talks to Pulumi or AWS: plain functions, plain tests.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable
from dataclasses import dataclass, field

SUFFIX_KEY = "payments:environmentSuffix"


@dataclass(frozen=True)
class NameRule:
    """AWS's naming rule for one kind of resource, as its API documentation states it."""

    kind: str
    max_length: int
    pattern: str
    min_length: int = 1
    extra: tuple[tuple[Callable[[str], bool], str], ...] = field(default=())

    def problems(self, name: str) -> list[str]:
        """Every way ``name`` breaks this rule, as readable sentences (empty when valid)."""
        found = []
        if not self.min_length <= len(name) <= self.max_length:
            found.append(
                f"{self.kind} name must be {self.min_length} to {self.max_length} characters; "
                f'got {len(name)} in "{name}"'
            )
        if not re.fullmatch(self.pattern, name):
            found.append(f'{self.kind} name must match {self.pattern}; got "{name}"')
        for is_broken, rule in self.extra:
            if is_broken(name):
                found.append(f'{self.kind} name must {rule}; got "{name}"')
        return found


def _is_ipv4(name: str) -> bool:
    try:
        ipaddress.IPv4Address(name)
    except ValueError:
        return False
    return True


# AWS naming rules, from each service's API reference (CreateLoadBalancer, CreateTargetGroup,
# CreateDBCluster, CreateBucket "bucket naming rules", CreateRole, CreateLogGroup, CreateTopic,
# CreateSecret, CreateRepository, CreateFunction, CreateAlias, ...).
ALB = NameRule(
    "ALB",
    32,
    r"[A-Za-z0-9-]+",
    extra=(
        (lambda n: n.startswith("-") or n.endswith("-"), "not begin or end with a hyphen"),
        (lambda n: n.startswith("internal-"), 'not begin with "internal-"'),
    ),
)
TARGET_GROUP = NameRule(
    "target group",
    32,
    r"[A-Za-z0-9-]+",
    extra=((lambda n: n.startswith("-") or n.endswith("-"), "not begin or end with a hyphen"),),
)
# RDS forbids a trailing hyphen and two hyphens in a row in every name it takes.
_RDS_HYPHEN_RULES: tuple[tuple[Callable[[str], bool], str], ...] = (
    (lambda n: n.endswith("-"), "not end with a hyphen"),
    (lambda n: "--" in n, "not contain two consecutive hyphens"),
)
RDS_IDENTIFIER = NameRule("RDS identifier", 63, r"[A-Za-z][A-Za-z0-9-]*", extra=_RDS_HYPHEN_RULES)
RDS_GROUP = NameRule("RDS subnet/parameter group", 255, r"[a-z][a-z0-9-]*", extra=_RDS_HYPHEN_RULES)
S3_BUCKET = NameRule(
    "S3 bucket",
    63,
    r"[a-z0-9][a-z0-9.-]*[a-z0-9]",
    min_length=3,
    extra=(
        (lambda n: ".." in n, "not contain two adjacent periods"),
        (_is_ipv4, "not be formatted as an IP address"),
        (
            lambda n: n.startswith(("xn--", "sthree-", "amzn-s3-demo-")),
            'not begin with "xn--", "sthree-" or "amzn-s3-demo-"',
        ),
        (
            lambda n: n.endswith(("-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3")),
            'not end with "-s3alias", "--ol-s3", ".mrap", "--x-s3" or "--table-s3"',
        ),
    ),
)
IAM_ROLE = NameRule("IAM role", 64, r"[\w+=,.@-]+")
IAM_POLICY = NameRule("IAM policy", 128, r"[\w+=,.@-]+")
LOG_GROUP = NameRule(
    "CloudWatch log group",
    512,
    r"[A-Za-z0-9._/#-]+",
    extra=((lambda n: n.startswith("aws/"), 'not begin with "aws/" (reserved by AWS)'),),
)
SNS_TOPIC = NameRule("SNS topic", 256, r"[A-Za-z0-9_-]+")
SECRET = NameRule("Secrets Manager secret", 512, r"[A-Za-z0-9/_+=.@-]+")
ECR_REPOSITORY = NameRule(
    "ECR repository", 256, r"(?:[a-z0-9]+(?:[._-][a-z0-9]+)*/)*[a-z0-9]+(?:[._-][a-z0-9]+)*", 2
)
ECS_NAME = NameRule("ECS cluster/service/family", 255, r"[A-Za-z0-9_-]+")
LAMBDA_FUNCTION = NameRule("Lambda function", 64, r"[A-Za-z0-9_-]+")
KMS_ALIAS = NameRule(
    "KMS alias",
    256,
    r"alias/[A-Za-z0-9/_-]+",
    extra=((lambda n: n.startswith("alias/aws/"), 'not begin with "alias/aws/"'),),
)
SECURITY_GROUP = NameRule(
    "security group",
    255,
    r"[A-Za-z0-9 ._:/()#,@\[\]+=&;{}!$*-]+",
    extra=((lambda n: n.lower().startswith("sg-"), 'not begin with "sg-"'),),
)
DASHBOARD = NameRule("CloudWatch dashboard", 255, r"[A-Za-z0-9_-]+")
WAF_NAME = NameRule("WAF web ACL", 128, r"[\w-]+")
TAG_VALUE = NameRule("Name tag", 256, r"[\w .:/=+@-]*")
# CloudFront functions (64), origin access controls (64) and policies (128): the tightest.
CLOUDFRONT_NAME = NameRule("CloudFront function/OAC/policy", 64, r"[A-Za-z0-9_-]+")
LOG_DELIVERY = NameRule("CloudWatch log delivery source/destination", 60, r"[\w-]+")
FIREHOSE_STREAM = NameRule("Firehose stream", 64, r"[A-Za-z0-9_.-]+")
SQS_QUEUE = NameRule("SQS queue", 80, r"[A-Za-z0-9_-]+")
ALARM = NameRule("CloudWatch alarm", 255, r"[^\x00-\x1f]+")
SCALING_POLICY = NameRule("scaling policy", 256, r"[A-Za-z0-9._/-]+")
# CreateTrail: 3 to 128 letters, digits, periods, underscores and hyphens, starting with a
# letter or digit. PutConfigurationRecorder, PutDeliveryChannel: 1 to 256 characters.
CLOUDTRAIL_TRAIL = NameRule("CloudTrail trail", 128, r"[A-Za-z0-9][A-Za-z0-9._-]*", min_length=3)
CONFIG_NAME = NameRule("AWS Config recorder/delivery channel", 256, r"[\w.-]+")


@dataclass(frozen=True)
class PhysicalName:
    """One physical name the platform uses: ``{prefix}-{suffix}{tail}`` under one AWS rule.

    ``tail`` is for names whose form AWS fixes around ours, such as the log group RDS
    exports to: ``/aws/rds/cluster/aurora-cluster-{suffix}/postgresql``.
    """

    prefix: str
    rule: NameRule
    tier: str
    tail: str = ""

    def format(self, suffix: str) -> str:
        return f"{self.prefix}-{suffix}{self.tail}"

    @property
    def room_for_suffix(self) -> int:
        """How long a suffix can be before this name breaks its AWS length limit."""
        return self.rule.max_length - len(self.prefix) - 1 - len(self.tail)


# Every physical name of the platform, by the key the code asks for. Tiers not built yet are
# listed too (see the module docstring); `tests/unit/test_naming.py` checks that the program
# names nothing outside this catalogue.
NAMES: dict[str, PhysicalName] = {
    # network
    "vpc": PhysicalName("vpc", TAG_VALUE, "network"),
    "internet_gateway": PhysicalName("igw", TAG_VALUE, "network"),
    "public_route_table": PhysicalName("rtb-public", TAG_VALUE, "network"),
    "default_security_group": PhysicalName("default-sg", TAG_VALUE, "network"),
    "s3_endpoint": PhysicalName("vpce-s3", TAG_VALUE, "network"),
    # interface VPC endpoints (endpoints.py): one per service, and their group
    "endpoint_ecr_api": PhysicalName("vpce-ecr-api", TAG_VALUE, "network"),
    "endpoint_ecr_dkr": PhysicalName("vpce-ecr-dkr", TAG_VALUE, "network"),
    "endpoint_logs": PhysicalName("vpce-logs", TAG_VALUE, "network"),
    "endpoint_secretsmanager": PhysicalName("vpce-secretsmanager", TAG_VALUE, "network"),
    "endpoint_kms": PhysicalName("vpce-kms", TAG_VALUE, "network"),
    "endpoint_sts": PhysicalName("vpce-sts", TAG_VALUE, "network"),
    "endpoint_security_group": PhysicalName("vpce-sg", SECURITY_GROUP, "network"),
    "endpoint_ingress_from_tasks": PhysicalName("vpce-sg-from-api-tasks", TAG_VALUE, "network"),
    "endpoint_ingress_from_rotation": PhysicalName(
        "vpce-sg-from-db-rotation", TAG_VALUE, "network"
    ),
    "flow_log": PhysicalName("flow-log", TAG_VALUE, "network"),
    "flow_log_group": PhysicalName("/aws/vpc/flow-logs", LOG_GROUP, "network"),
    "flow_log_role": PhysicalName("vpc-flow-logs-role", IAM_ROLE, "network"),
    "flow_log_policy": PhysicalName("vpc-flow-logs-policy", IAM_POLICY, "network"),
    # data tier
    "db_cluster": PhysicalName("aurora-cluster", RDS_IDENTIFIER, "database"),
    # The snapshot RDS takes when a protected cluster (payments:protectData) is deleted.
    # DeleteDBCluster allows 255 characters, but every other snapshot call 63: held to those.
    "db_final_snapshot": PhysicalName("aurora-cluster", RDS_IDENTIFIER, "database", tail="-final"),
    "db_instance_writer": PhysicalName("aurora-writer", RDS_IDENTIFIER, "database"),
    "db_instance_reader": PhysicalName("aurora-reader", RDS_IDENTIFIER, "database"),
    "db_subnet_group": PhysicalName("db-subnet-group", RDS_GROUP, "database"),
    "db_cluster_parameter_group": PhysicalName("aurora-cluster-params", RDS_GROUP, "database"),
    "db_security_group": PhysicalName("db-sg", SECURITY_GROUP, "database"),
    "db_ingress_from_tasks": PhysicalName("db-sg-from-api-tasks", TAG_VALUE, "database"),
    "db_kms_key": PhysicalName("aurora-key", TAG_VALUE, "database"),
    "db_kms_alias": PhysicalName("alias/aurora", KMS_ALIAS, "database"),
    # The master user's secret (migrations and rotation only), and one per login (aurora.py).
    "db_master_secret": PhysicalName("db-master-credentials", SECRET, "database"),
    "db_app_secret": PhysicalName("db-app-credentials", SECRET, "database"),
    "db_keys_secret": PhysicalName("db-keys-credentials", SECRET, "database"),
    # Not "db-rotation": AWS's function, which stacks that had rotation on ran under that
    # name, is deleted only after ours is created.
    "db_rotation_function": PhysicalName("db-password-rotation", LAMBDA_FUNCTION, "database"),
    "db_rotation_log_group": PhysicalName(
        "/aws/lambda/db-password-rotation", LOG_GROUP, "database"
    ),
    "db_rotation_role": PhysicalName("db-password-rotation-role", IAM_ROLE, "database"),
    "db_rotation_policy": PhysicalName("db-password-rotation-policy", IAM_POLICY, "database"),
    "db_rotation_security_group": PhysicalName("db-rotation-sg", SECURITY_GROUP, "database"),
    "db_ingress_from_rotation": PhysicalName("db-sg-from-rotation", TAG_VALUE, "database"),
    "db_rotation_egress_to_db": PhysicalName("db-rotation-sg-to-db", TAG_VALUE, "database"),
    "db_rotation_egress_to_aws": PhysicalName("db-rotation-sg-to-https", TAG_VALUE, "database"),
    "db_rotation_egress_to_endpoints": PhysicalName(
        "db-rotation-sg-to-vpce", TAG_VALUE, "database"
    ),
    "db_log_group": PhysicalName(
        "/aws/rds/cluster/aurora-cluster", LOG_GROUP, "database", tail="/postgresql"
    ),
    "db_monitoring_role": PhysicalName("aurora-monitoring-role", IAM_ROLE, "database"),
    # API tier
    "alb": PhysicalName("alb", ALB, "service"),
    "target_group": PhysicalName("tg-api", TARGET_GROUP, "service"),
    "alb_security_group": PhysicalName("alb-sg", SECURITY_GROUP, "service"),
    "task_security_group": PhysicalName("api-tasks-sg", SECURITY_GROUP, "service"),
    "alb_logs_bucket": PhysicalName("alb-logs", S3_BUCKET, "service"),
    "ecs_cluster": PhysicalName("ecs-cluster", ECS_NAME, "service"),
    "ecs_service": PhysicalName("api-service", ECS_NAME, "service"),
    "task_family": PhysicalName("api", ECS_NAME, "service"),
    "ecr_repository": PhysicalName("api", ECR_REPOSITORY, "service"),
    "ecr_kms_key": PhysicalName("ecr-key", TAG_VALUE, "service"),
    "ecr_kms_alias": PhysicalName("alias/ecr", KMS_ALIAS, "service"),
    "api_log_group": PhysicalName("/ecs/api", LOG_GROUP, "service"),
    "task_execution_role": PhysicalName("ecs-task-execution-role", IAM_ROLE, "service"),
    "task_role": PhysicalName("ecs-task-role", IAM_ROLE, "service"),
    "task_execution_policy": PhysicalName("ecs-task-execution-policy", IAM_POLICY, "service"),
    "task_policy": PhysicalName("ecs-task-policy", IAM_POLICY, "service"),
    # The one-off tasks (one_off_tasks.py): the migrations, run at each deploy, and the key
    # CLI, run by the key operator.
    "migrations_task_family": PhysicalName("migrations", ECS_NAME, "service"),
    "migrations_log_group": PhysicalName("/ecs/migrations", LOG_GROUP, "service"),
    "migrations_execution_role": PhysicalName("ecs-migrations-execution-role", IAM_ROLE, "service"),
    "migrations_execution_policy": PhysicalName(
        "ecs-migrations-execution-policy", IAM_POLICY, "service"
    ),
    "migration_runner_function": PhysicalName("db-migrate", LAMBDA_FUNCTION, "service"),
    "migration_runner_log_group": PhysicalName("/aws/lambda/db-migrate", LOG_GROUP, "service"),
    "migration_runner_role": PhysicalName("db-migrate-role", IAM_ROLE, "service"),
    "migration_runner_policy": PhysicalName("db-migrate-policy", IAM_POLICY, "service"),
    "keys_task_family": PhysicalName("api-keys", ECS_NAME, "service"),
    "keys_log_group": PhysicalName("/ecs/api-keys", LOG_GROUP, "service"),
    "keys_execution_role": PhysicalName("ecs-keys-execution-role", IAM_ROLE, "service"),
    "keys_execution_policy": PhysicalName("ecs-keys-execution-policy", IAM_POLICY, "service"),
    "alb_listener": PhysicalName("alb-https-listener", TAG_VALUE, "service"),
    "alb_rule_from_cloudfront": PhysicalName("alb-rule-from-cloudfront", TAG_VALUE, "service"),
    "alb_rule_api_paths": PhysicalName("alb-rule-api-paths", TAG_VALUE, "service"),
    "alb_web_acl": PhysicalName("waf-alb", WAF_NAME, "service"),
    "alb_waf_log_group": PhysicalName("aws-waf-logs-alb", LOG_GROUP, "service"),
    "alb_waf_origin_rule_group": PhysicalName("waf-alb-cloudfront-origin", WAF_NAME, "service"),
    "origin_header_secret": PhysicalName("cloudfront-origin-header", SECRET, "service"),
    "origin_header_kms_key": PhysicalName("origin-header-key", TAG_VALUE, "service"),
    "origin_header_kms_alias": PhysicalName("alias/origin-header", KMS_ALIAS, "service"),
    "container_insights_log_group": PhysicalName(
        "/aws/ecs/containerinsights/ecs-cluster", LOG_GROUP, "service", tail="/performance"
    ),
    "scaling_target": PhysicalName("api-scaling", TAG_VALUE, "service"),
    "scaling_policy_cpu": PhysicalName("api-cpu-70", SCALING_POLICY, "service"),
    "scaling_policy_memory": PhysicalName("api-memory-80", SCALING_POLICY, "service"),
    "api_certificate": PhysicalName("api-cert", TAG_VALUE, "service"),
    "cloudfront_certificate": PhysicalName("cloudfront-cert", TAG_VALUE, "service"),
    "sg_rule_alb_in_https_ipv4": PhysicalName("alb-sg-in-https-ipv4", TAG_VALUE, "service"),
    "sg_rule_alb_in_https_ipv6": PhysicalName("alb-sg-in-https-ipv6", TAG_VALUE, "service"),
    "sg_rule_alb_in_https_cloudfront": PhysicalName(
        "alb-sg-in-https-cloudfront", TAG_VALUE, "service"
    ),
    "sg_rule_alb_out_tasks": PhysicalName("alb-sg-out-api-tasks", TAG_VALUE, "service"),
    "sg_rule_tasks_in_alb": PhysicalName("api-tasks-sg-in-alb", TAG_VALUE, "service"),
    "sg_rule_tasks_out_db": PhysicalName("api-tasks-sg-out-db", TAG_VALUE, "service"),
    "sg_rule_tasks_out_https": PhysicalName("api-tasks-sg-out-https", TAG_VALUE, "service"),
    "sg_rule_tasks_out_endpoints": PhysicalName("api-tasks-sg-out-vpce", TAG_VALUE, "service"),
    "sg_rule_tasks_out_s3": PhysicalName("api-tasks-sg-out-s3", TAG_VALUE, "service"),
    "sg_rule_tasks_out_allowed": PhysicalName("api-tasks-sg-out-allowed", TAG_VALUE, "service"),
    # frontend tier
    "frontend_bucket": PhysicalName("frontend", S3_BUCKET, "frontend"),
    "web_acl": PhysicalName("waf-frontend", WAF_NAME, "frontend"),
    "waf_log_group": PhysicalName("aws-waf-logs", LOG_GROUP, "frontend"),
    "frontend_object": PhysicalName("frontend-object", TAG_VALUE, "frontend"),
    "origin_access_control": PhysicalName("frontend-oac", CLOUDFRONT_NAME, "frontend"),
    "spa_function": PhysicalName("spa-rewrite", CLOUDFRONT_NAME, "frontend"),
    "response_headers_policy": PhysicalName("security-headers", CLOUDFRONT_NAME, "frontend"),
    "distribution": PhysicalName("cdn", TAG_VALUE, "frontend"),
    "cloudfront_log_group": PhysicalName("/aws/cloudfront/frontend", LOG_GROUP, "frontend"),
    "cloudfront_log_source": PhysicalName("cloudfront", LOG_DELIVERY, "frontend"),
    "cloudfront_log_destination": PhysicalName("cloudfront-logs", LOG_DELIVERY, "frontend"),
    "cloudfront_log_delivery": PhysicalName("cloudfront-log-delivery", TAG_VALUE, "frontend"),
    # observability
    "alerts_topic": PhysicalName("alerts", SNS_TOPIC, "observability"),
    "dashboard": PhysicalName("payments", DASHBOARD, "observability"),
    "alb_log_forwarder": PhysicalName("alb-log-forwarder", LAMBDA_FUNCTION, "observability"),
    "alb_log_forwarder_role": PhysicalName("alb-log-forwarder-role", IAM_ROLE, "observability"),
    "alb_access_log_group": PhysicalName("/aws/alb/access/alb", LOG_GROUP, "observability"),
    "logs_kms_key": PhysicalName("logs-key", TAG_VALUE, "observability"),
    "logs_kms_alias": PhysicalName("alias/logs", KMS_ALIAS, "observability"),
    "alb_log_forwarder_policy": PhysicalName(
        "alb-log-forwarder-policy", IAM_POLICY, "observability"
    ),
    "alb_log_forwarder_log_group": PhysicalName(
        "/aws/lambda/alb-log-forwarder", LOG_GROUP, "observability"
    ),
    "alb_log_forwarder_dlq": PhysicalName("alb-log-forwarder-failures", SQS_QUEUE, "observability"),
    "alb_log_source": PhysicalName("alb-access", LOG_DELIVERY, "observability"),
    "alb_log_destination": PhysicalName("alb-access-logs", LOG_DELIVERY, "observability"),
    "alb_log_delivery": PhysicalName("alb-access-log-delivery", TAG_VALUE, "observability"),
    "log_archive_bucket": PhysicalName("log-archive", S3_BUCKET, "observability"),
    "log_archive_stream": PhysicalName("log-archive", FIREHOSE_STREAM, "observability"),
    "log_archive_filter": PhysicalName("log-archive", TAG_VALUE, "observability"),
    "log_archive_firehose_role": PhysicalName(
        "log-archive-firehose-role", IAM_ROLE, "observability"
    ),
    "log_archive_firehose_policy": PhysicalName(
        "log-archive-firehose-policy", IAM_POLICY, "observability"
    ),
    "log_archive_logs_role": PhysicalName("log-archive-logs-role", IAM_ROLE, "observability"),
    "log_archive_logs_policy": PhysicalName("log-archive-logs-policy", IAM_POLICY, "observability"),
    # account controls (payments:accountControls)
    "audit_kms_key": PhysicalName("audit-key", TAG_VALUE, "account"),
    "audit_kms_alias": PhysicalName("alias/audit", KMS_ALIAS, "account"),
    "cloudtrail_trail": PhysicalName("trail", CLOUDTRAIL_TRAIL, "account"),
    "cloudtrail_bucket": PhysicalName("cloudtrail-logs", S3_BUCKET, "account"),
    "cloudtrail_log_group": PhysicalName("/aws/cloudtrail/trail", LOG_GROUP, "account"),
    "cloudtrail_role": PhysicalName("cloudtrail-logs-role", IAM_ROLE, "account"),
    "cloudtrail_policy": PhysicalName("cloudtrail-logs-policy", IAM_POLICY, "account"),
    "guardduty_detector": PhysicalName("guardduty", TAG_VALUE, "account"),
    "config_recorder": PhysicalName("config-recorder", CONFIG_NAME, "account"),
    "config_delivery_channel": PhysicalName("config-delivery", CONFIG_NAME, "account"),
    "config_bucket": PhysicalName("config-history", S3_BUCKET, "account"),
    "config_role": PhysicalName("config-recorder-role", IAM_ROLE, "account"),
    "config_policy": PhysicalName("config-recorder-policy", IAM_POLICY, "account"),
    # Alarms, by the tier that watches itself with them (Observability creates them all).
    **{
        key: PhysicalName(key.replace("_", "-"), ALARM, tier)
        for tier, keys in (
            (
                "service",
                (
                    "alarm_alb_5xx",
                    "alarm_target_5xx",
                    "alarm_target_p99",
                    "alarm_unhealthy_hosts",
                    "alarm_alb_waf_blocked",
                    "alarm_running_tasks",
                    "alarm_ecs_cpu",
                    "alarm_ecs_memory",
                    # the API's business metrics (business_metrics.py)
                    "alarm_no_payments",
                    "alarm_api_error_rate",
                    "alarm_api_p99",
                    "alarm_auth_failures",
                    "alarm_api_metrics_missing",
                ),
            ),
            (
                "database",
                (
                    "alarm_db_cpu",
                    "alarm_db_memory",
                    "alarm_db_connections",
                    "alarm_db_replica_lag",
                    "alarm_db_rotation_errors",
                ),
            ),
            ("frontend", ("alarm_waf_blocked",)),
            ("observability", ("alarm_forwarder_errors", "alarm_forwarder_dead_letters")),
        )
        for key in keys
    },
}

# Names made per availability zone put the AZ between prefix and suffix. The zone names are
# us-east-1a..us-east-1f: no longer than this.
LONGEST_AZ_NAME = "us-east-1a"
PER_AZ_NAMES: dict[str, PhysicalName] = {
    "public_subnet": PhysicalName("subnet-public", TAG_VALUE, "network"),
    "private_subnet": PhysicalName("subnet-private", TAG_VALUE, "network"),
    "private_route_table": PhysicalName("rtb-private", TAG_VALUE, "network"),
    "nat_eip": PhysicalName("eip-nat", TAG_VALUE, "network"),
    "nat_gateway": PhysicalName("nat", TAG_VALUE, "network"),
    "alarm_nat_ports": PhysicalName("alarm-nat-ports", ALARM, "network"),
}


def _binding_limit() -> tuple[int, str]:
    """The longest suffix every catalogue name can take, and the name that sets it."""
    candidates = [(n.room_for_suffix, n.format("{suffix}")) for n in NAMES.values()]
    candidates += [
        (n.room_for_suffix - len(LONGEST_AZ_NAME) - 1, f"{n.prefix}-{LONGEST_AZ_NAME}-{{suffix}}")
        for n in PER_AZ_NAMES.values()
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


def physical_name(key: str, suffix: str) -> str:
    """The physical name of catalogue entry ``key`` for this stack, e.g. ``alb-prod1``."""
    return NAMES[key].format(suffix)


def per_az_name(key: str, availability_zone: str, suffix: str) -> str:
    """The physical name of a per-AZ resource, e.g. ``nat-us-east-1a-prod1``."""
    return f"{PER_AZ_NAMES[key].prefix}-{availability_zone}-{suffix}"


def all_names(suffix: str, availability_zones: list[str]) -> list[tuple[str, NameRule]]:
    """Every catalogue name for this suffix and these zones, with the rule it must meet."""
    names = [(entry.format(suffix), entry.rule) for entry in NAMES.values()]
    names += [
        (per_az_name(key, zone, suffix), entry.rule)
        for key, entry in PER_AZ_NAMES.items()
        for zone in availability_zones
    ]
    return names
