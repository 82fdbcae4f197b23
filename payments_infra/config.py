"""StackConfig: every setting of the stack, read once, validated once, defaults in one place.

``load_stack_config()`` is the only place the program reads Pulumi config. It checks every
value before the first resource exists and raises one ``ConfigError`` that lists every
problem, each as ``<key> must <rule>; got <value>``.

``SETTINGS`` describes each key (type, default, rule); docs/settings.md's table and the
``template.config`` block of ``Pulumi.yaml`` are checked against it by the tests.
"""

from __future__ import annotations

import difflib
import ipaddress
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass

import pulumi
from pulumi.runtime import config as pulumi_runtime_config

from payments_infra.errors import ConfigError
from payments_infra.naming import SUFFIX_KEY, suffix_problems

PROJECT_NAMESPACE = "payments"
REQUIRED_REGION = "us-east-1"
AZ_COUNT = 3
# The customer's retention for every CloudWatch log group (PCI DSS 10.5.1 wants 12 months of
# audit logs in all: see docs/security.md).
LOG_RETENTION_DAYS = 30

# The VPC is split into private subnets of a quarter each and public subnets of a sixteenth
# each (network.plan_subnets). An ALB needs subnets of /27 or larger, so the VPC can be at
# most /23; AWS allows /16 at the largest.
MIN_VPC_PREFIX = 16
MAX_VPC_PREFIX = 23


DEFAULT_DB_ENGINE_VERSION = "17"
MIN_DB_MAJOR = 16
DEFAULT_DB_MIN_CAPACITY = 1.0
DEFAULT_DB_MAX_CAPACITY = 16.0
DEFAULT_DB_BACKUP_RETENTION_DAYS = 7
# AWS's recommended ALB policy when last checked ("describe-ssl-policies" page): TLS 1.3 and
# 1.2 with post-quantum key exchange. The API's own default is still the 2016 policy.
DEFAULT_ALB_TLS_POLICY = "ELBSecurityPolicy-TLS13-1-2-Res-PQ-2025-09"
DEFAULT_API_CPU = 512
DEFAULT_API_MEMORY = 1024
DEFAULT_ECR_KEEP_IMAGES = 20
DEFAULT_WEB_DIST_DIR = "app/web/dist"
DEFAULT_WAF_RATE_LIMIT = 2000
PRICE_CLASSES = ("PriceClass_100", "PriceClass_200", "PriceClass_All")
# Fargate's allowed task sizes (Linux): CPU units -> the memory sizes (MiB) it accepts.
FARGATE_SIZES: dict[int, range] = {
    256: range(512, 2048 + 1, 512),
    512: range(1024, 4096 + 1, 1024),
    1024: range(2048, 8192 + 1, 1024),
    2048: range(4096, 16384 + 1, 1024),
    4096: range(8192, 30720 + 1, 1024),
    8192: range(16384, 61440 + 1, 4096),
    16384: range(32768, 122880 + 1, 8192),
}


@dataclass(frozen=True)
class Setting:
    """One config key as a user writes it, for validation messages and the docs table."""

    key: str
    type: str
    default: str
    rule: str
    description: str


SETTINGS: tuple[Setting, ...] = (
    Setting(
        key=SUFFIX_KEY,
        type="string",
        default="(required)",
        rule="lowercase letters, digits and single hyphens; starts with a letter; "
        "at most the length that keeps every derived name inside its AWS limit (see naming.py)",
        description="Ends every physical name, `{resource-type}-{environmentSuffix}`. "
        "Must make S3 bucket names globally unique.",
    ),
    Setting(
        key="aws:region",
        type="string",
        default="(required)",
        rule="us-east-1",
        description="AWS region. The platform is built and priced for us-east-1 only.",
    ),
    Setting(
        key="payments:vpcCidr",
        type="string",
        default="10.0.0.0/16",
        rule=f"an RFC 1918 IPv4 network from /{MIN_VPC_PREFIX} to /{MAX_VPC_PREFIX}",
        description="VPC address range. Private subnets get a quarter each, public subnets "
        "a sixteenth each.",
    ),
    Setting(
        key="payments:availabilityZones",
        type="list of 3 strings",
        default="first 3 available zones of the region (opt-in not required)",
        rule="exactly 3 distinct zone names of us-east-1, e.g. us-east-1a",
        description="Pin the zones, e.g. to avoid a zone that lacks capacity for the "
        "instance types you need. Otherwise the stack looks them up.",
    ),
    Setting(
        key="payments:dbEngineVersion",
        type="string",
        default=DEFAULT_DB_ENGINE_VERSION,
        rule=f"an Aurora PostgreSQL version, major ({MIN_DB_MAJOR} or newer) or major.minor, "
        "e.g. 17 or 17.6",
        description="A major version takes the region's default minor version for it at "
        "creation; Aurora applies later minor versions itself in the maintenance window.",
    ),
    Setting(
        key="payments:dbMinCapacity",
        type="number (ACU)",
        default=str(DEFAULT_DB_MIN_CAPACITY),
        rule="0.5 to 256 in steps of 0.5, at most payments:dbMaxCapacity",
        description="Aurora Serverless v2 floor of the writer and the reader (1 ACU is about "
        "2 GiB of memory). The reader scales with the writer, so a failover lands warm.",
    ),
    Setting(
        key="payments:dbMaxCapacity",
        type="number (ACU)",
        default=str(DEFAULT_DB_MAX_CAPACITY),
        rule="1 to 256 in steps of 0.5, at least payments:dbMinCapacity",
        description="Aurora Serverless v2 ceiling: caps the cost of a load spike.",
    ),
    Setting(
        key="payments:dbBackupRetentionDays",
        type="integer",
        default=str(DEFAULT_DB_BACKUP_RETENTION_DAYS),
        rule="7 to 35",
        description="Days of automated backups and point-in-time recovery.",
    ),
    Setting(
        key="payments:dbRotationDays",
        type="integer",
        default="0 (off)",
        rule="0, or 1 to 365",
        description="Rotate the master password every N days with AWS's single-user "
        "PostgreSQL rotation function. Off by default: rotation rewrites `password` but "
        "not `url` in the secret (see docs/architecture.md, Database).",
    ),
    Setting(
        key="payments:domainName",
        type="string",
        default="(none)",
        rule="a DNS name you control, e.g. pay.example.com; needs payments:hostedZoneId",
        description="Certificate mode 1: ACM certificates validated in Route 53 for "
        "api.<domain> (ALB) and <domain> (CloudFront), and the alias records.",
    ),
    Setting(
        key="payments:hostedZoneId",
        type="string",
        default="(none)",
        rule="a Route 53 hosted zone id (Z...) of payments:domainName",
        description="The public hosted zone the validation and alias records go into.",
    ),
    Setting(
        key="payments:certificateArn",
        type="string",
        default="(none)",
        rule="an ACM certificate ARN in us-east-1; not with payments:domainName",
        description="Certificate mode 2: an existing certificate for the ALB.",
    ),
    Setting(
        key="payments:cloudfrontCertificateArn",
        type="string",
        default="(none)",
        rule="an ACM certificate ARN in us-east-1; only with payments:certificateArn",
        description="Mode 2: an existing certificate for CloudFront's own name.",
    ),
    Setting(
        key="payments:siteDomainName",
        type="string",
        default="(none)",
        rule="a DNS name covered by payments:cloudfrontCertificateArn; both or neither",
        description="Mode 2: the site's own name on CloudFront (you point it at the distribution).",
    ),
    Setting(
        key="payments:apiDomainName",
        type="string",
        default="(none)",
        rule="a DNS name covered by payments:certificateArn; only with it",
        description="Mode 2: the name (pointed at the ALB by you) CloudFront uses to reach "
        "/api over verified HTTPS.",
    ),
    Setting(
        key="payments:apiImage",
        type="string",
        default="(build app/api)",
        rule="an image reference with a tag or digest, e.g. registry/api:1.2",
        description="A prebuilt API image. Without it `pulumi up` builds app/api with Docker "
        "and pushes it to the stack's ECR repository.",
    ),
    Setting(
        key="payments:apiCpu",
        type="integer (CPU units)",
        default=str(DEFAULT_API_CPU),
        rule="256, 512, 1024, 2048, 4096, 8192 or 16384, with a memory size Fargate allows",
        description="Task CPU. One uvicorn worker uses at most one vCPU; half of one "
        "serves the reference API's load, and autoscaling adds tasks.",
    ),
    Setting(
        key="payments:apiMemory",
        type="integer (MiB)",
        default=str(DEFAULT_API_MEMORY),
        rule="a size Fargate allows for payments:apiCpu (512: 1024 to 4096 in 1024 steps)",
        description="Task memory.",
    ),
    Setting(
        key="payments:apiCpuArchitecture",
        type="string",
        default="ARM64",
        rule="ARM64 or X86_64",
        description="Graviton (ARM64) costs about 20% less per vCPU-hour; the image builds "
        "for both.",
    ),
    Setting(
        key="payments:albTlsPolicy",
        type="string",
        default=DEFAULT_ALB_TLS_POLICY,
        rule="an ELB security policy with TLS 1.3 (ELBSecurityPolicy-TLS13-...)",
        description="TLS policy of the HTTPS listener.",
    ),
    Setting(
        key="payments:albIngress",
        type="string",
        default="internet",
        rule="internet or cloudfront; cloudfront only where CloudFront routes /api to the ALB "
        "(payments:domainName, or payments:certificateArn with payments:apiDomainName)",
        description="Who may reach the ALB on 443: anyone, or only CloudFront's "
        "origin-facing addresses (managed prefix list).",
    ),
    Setting(
        key="payments:ecrKeepImages",
        type="integer",
        default=str(DEFAULT_ECR_KEEP_IMAGES),
        rule="1 to 1000",
        description="How many images the ECR repository keeps; older ones expire.",
    ),
    Setting(
        key="payments:webDistDir",
        type="string",
        default=DEFAULT_WEB_DIST_DIR,
        rule="a folder holding the built web app (index.html); relative to the project",
        description="What the stack uploads to the frontend bucket. `make up` builds it first.",
    ),
    Setting(
        key="payments:priceClass",
        type="string",
        default="PriceClass_100",
        rule=", ".join(PRICE_CLASSES),
        description="CloudFront edge locations: 100 (North America, Europe) is the cheapest.",
    ),
    Setting(
        key="payments:wafRateLimit",
        type="integer",
        default=str(DEFAULT_WAF_RATE_LIMIT),
        rule="100 to 2000000 requests per client IP per 5 minutes",
        description="Above this, WAF blocks the client IP for a while (rate-based rule).",
    ),
    Setting(
        key="payments:alertEmails",
        type="list of strings",
        default="[] (no subscriptions)",
        rule="e-mail addresses",
        description="Subscribed to the alerts topic; each must confirm AWS's e-mail.",
    ),
    Setting(
        key="payments:albAccessLogDelivery",
        type="string",
        default="forwarder",
        rule="forwarder or native",
        description="How ALB access logs reach CloudWatch: the stack's Lambda forwarder (works "
        "for certain), or CloudWatch vended-log delivery (see docs/architecture.md, ALB access "
        "logs, for its caveat).",
    ),
    Setting(
        key="payments:logArchive",
        type="string",
        default="none",
        rule="none or s3",
        description="s3: also copy every log group to an S3 archive kept 365 days (PCI DSS "
        "10.5.1), through subscription filters and Firehose. Costs grow with log volume.",
    ),
)

KNOWN_KEYS = {setting.key for setting in SETTINGS}
DEFAULT_VPC_CIDR = "10.0.0.0/16"
RFC1918_BLOCKS = ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16")


@dataclass(frozen=True, kw_only=True)
class DatabaseSettings:
    """The Aurora settings a stack may change (why: SETTINGS, docs/architecture.md)."""

    engine_version: str = DEFAULT_DB_ENGINE_VERSION
    min_capacity: float = DEFAULT_DB_MIN_CAPACITY
    max_capacity: float = DEFAULT_DB_MAX_CAPACITY
    backup_retention_days: int = DEFAULT_DB_BACKUP_RETENTION_DAYS
    rotation_days: int = 0  # 0: no automatic rotation


@dataclass(frozen=True, kw_only=True)
class CertificateSettings:
    """Which certificate mode the stack uses, and its inputs (docs/architecture.md, API tier)."""

    domain_name: str | None = None
    hosted_zone_id: str | None = None
    certificate_arn: str | None = None
    cloudfront_certificate_arn: str | None = None
    api_domain_name: str | None = None
    site_domain_name: str | None = None

    @property
    def mode(self) -> str:
        """``dns`` (mode 1), ``existing`` (mode 2) or ``self-signed`` (mode 3, a demo)."""
        if self.domain_name:
            return "dns"
        if self.certificate_arn:
            return "existing"
        return "self-signed"


@dataclass(frozen=True, kw_only=True)
class ServiceSettings:
    """The API service's settings (defaults and reasons: SETTINGS, docs/architecture.md)."""

    image: str | None = None
    cpu: int = DEFAULT_API_CPU
    memory: int = DEFAULT_API_MEMORY
    cpu_architecture: str = "ARM64"
    tls_policy: str = DEFAULT_ALB_TLS_POLICY
    ingress: str = "internet"
    ecr_keep_images: int = DEFAULT_ECR_KEEP_IMAGES


@dataclass(frozen=True, kw_only=True)
class FrontendSettings:
    """The frontend tier's settings (defaults and reasons: SETTINGS, docs/architecture.md)."""

    dist_dir: str = DEFAULT_WEB_DIST_DIR
    price_class: str = "PriceClass_100"
    waf_rate_limit: int = DEFAULT_WAF_RATE_LIMIT


@dataclass(frozen=True, kw_only=True)
class ObservabilitySettings:
    """Alert recipients and the ALB access-log path."""

    alert_emails: tuple[str, ...] = ()
    alb_log_delivery: str = "forwarder"
    log_archive: str = "none"


@dataclass(frozen=True, kw_only=True)
class StackConfig:
    """The validated settings of one stack. Build it with ``StackConfig.from_mapping``."""

    environment_suffix: str
    region: str
    vpc_cidr: ipaddress.IPv4Network
    # None means "look the zones up" (provider.resolve_availability_zones).
    availability_zones: tuple[str, ...] | None
    database: DatabaseSettings
    certificates: CertificateSettings
    service: ServiceSettings
    frontend: FrontendSettings
    observability: ObservabilitySettings
    project: str
    stack: str

    @classmethod
    def from_mapping(cls, raw: Mapping[str, str], *, project: str, stack: str) -> StackConfig:
        """Validate raw config (``namespace:key`` -> string, as Pulumi stores it).

        Raises ``ConfigError`` with every problem found, not just the first.
        """
        problems: list[str] = []
        problems += _unknown_key_problems(raw)

        suffix = str(raw.get(SUFFIX_KEY, ""))
        problems += suffix_problems(suffix)

        region = raw.get("aws:region")
        if region != REQUIRED_REGION:
            got = f'got "{region}"' if region else "got nothing"
            problems.append(f"aws:region must be {REQUIRED_REGION}; {got}")

        vpc_cidr, cidr_problems = _parse_vpc_cidr(raw.get("payments:vpcCidr", DEFAULT_VPC_CIDR))
        problems += cidr_problems

        zones, zone_problems = _parse_zones(raw.get("payments:availabilityZones"))
        problems += zone_problems

        database, database_problems = _parse_database(raw)
        problems += database_problems

        certificates, certificate_problems = _parse_certificates(raw)
        problems += certificate_problems

        service, service_problems = _parse_service(raw)
        problems += service_problems
        problems += _ingress_problems(service, certificates)

        frontend, frontend_problems = _parse_frontend(raw)
        problems += frontend_problems

        observability, observability_problems = _parse_observability(raw)
        problems += observability_problems

        if problems:
            raise ConfigError(problems)
        assert vpc_cidr is not None  # guaranteed when there are no problems
        return cls(
            environment_suffix=suffix,
            region=REQUIRED_REGION,
            vpc_cidr=vpc_cidr,
            availability_zones=zones,
            database=database,
            certificates=certificates,
            service=service,
            frontend=frontend,
            observability=observability,
            project=project,
            stack=stack,
        )


def load_stack_config() -> StackConfig:
    """Read this stack's Pulumi config and validate it (the only reader of Pulumi config)."""
    return StackConfig.from_mapping(
        _all_config(), project=pulumi.get_project(), stack=pulumi.get_stack()
    )


def _all_config() -> dict[str, str]:
    # pulumi.Config reads one key at a time and cannot list keys; listing them is how a
    # misspelt key (payments:vpcCIDR) is caught instead of silently ignored.
    raw: dict[str, str] = dict(pulumi_runtime_config.get_config_env())
    raw.update(pulumi_runtime_config.CONFIG.get())
    return {key: str(value) for key, value in raw.items()}


def _unknown_key_problems(raw: Mapping[str, str]) -> list[str]:
    ours = sorted(k for k in KNOWN_KEYS if k.startswith(f"{PROJECT_NAMESPACE}:"))
    problems = []
    for key in sorted(raw):
        if not key.startswith(f"{PROJECT_NAMESPACE}:") or key in KNOWN_KEYS:
            continue
        # Case-blind first: vpcCIDR for vpcCidr is the commonest slip.
        by_case = [k for k in ours if k.lower() == key.lower()]
        close = by_case or difflib.get_close_matches(key, ours, n=1, cutoff=0.8)
        hint = f"did you mean {close[0]}?" if close else f"known settings: {', '.join(ours)}"
        problems.append(f"{key} must be a known setting ({hint}); got an unknown key")
    return problems


def _parse_vpc_cidr(text: str) -> tuple[ipaddress.IPv4Network | None, list[str]]:
    key = "payments:vpcCidr"
    try:
        network = ipaddress.IPv4Network(text, strict=False)
    except ValueError:
        return None, [f'{key} must be an IPv4 CIDR block such as 10.0.0.0/16; got "{text}"']
    if "/" not in text:
        return None, [f'{key} must give a prefix length, such as 10.0.0.0/16; got "{text}"']
    problems = []
    if str(network) != text:
        problems.append(
            f"{key} must be a network address with no host bits set "
            f'(did you mean {network}?); got "{text}"'
        )
    if not any(network.subnet_of(ipaddress.IPv4Network(block)) for block in RFC1918_BLOCKS):
        problems.append(f'{key} must be inside an RFC 1918 private range; got "{text}"')
    if not MIN_VPC_PREFIX <= network.prefixlen <= MAX_VPC_PREFIX:
        problems.append(
            f"{key} must have a prefix length from /{MIN_VPC_PREFIX} to /{MAX_VPC_PREFIX} "
            f"(room for 3 private and 3 public subnets, each public one /27 or larger "
            f'for the ALB); got "{text}"'
        )
    return (None if problems else network), problems


def _parse_zones(text: str | None) -> tuple[tuple[str, ...] | None, list[str]]:
    if text is None:
        return None, []
    key = "payments:availabilityZones"
    try:
        zones = json.loads(text)
    except json.JSONDecodeError:
        zones = None
    if not isinstance(zones, list) or not all(isinstance(zone, str) for zone in zones):
        return None, [f'{key} must be a list of zone names such as ["us-east-1a", ...]; got {text}']
    problems = []
    if len(zones) != AZ_COUNT or len(set(zones)) != AZ_COUNT:
        problems.append(f"{key} must name exactly {AZ_COUNT} distinct zones; got {zones}")
    bad = [zone for zone in zones if not re.fullmatch(rf"{REQUIRED_REGION}[a-z]", zone)]
    if bad:
        problems.append(f"{key} must hold zone names of {REQUIRED_REGION} only; got {bad}")
    return (None if problems else tuple(zones)), problems


def _parse_number(raw: Mapping[str, str], key: str, default: float) -> tuple[float, list[str]]:
    text = raw.get(key)
    if text is None:
        return default, []
    try:
        return float(text), []
    except ValueError:
        return default, [f'{key} must be a number; got "{text}"']


def _parse_database(raw: Mapping[str, str]) -> tuple[DatabaseSettings, list[str]]:
    problems = []
    version = raw.get("payments:dbEngineVersion", DEFAULT_DB_ENGINE_VERSION)
    match = re.fullmatch(r"(\d+)(\.\d+)?", version)
    if match is None or int(match[1]) < MIN_DB_MAJOR:
        problems.append(
            f"payments:dbEngineVersion must be an Aurora PostgreSQL version such as 17 or 17.6, "
            f'major {MIN_DB_MAJOR} or newer; got "{version}"'
        )
    min_acu, found = _parse_number(raw, "payments:dbMinCapacity", DEFAULT_DB_MIN_CAPACITY)
    problems += found
    max_acu, found = _parse_number(raw, "payments:dbMaxCapacity", DEFAULT_DB_MAX_CAPACITY)
    problems += found
    for key, value, lowest in (
        ("payments:dbMinCapacity", min_acu, 0.5),
        ("payments:dbMaxCapacity", max_acu, 1.0),
    ):
        if not lowest <= value <= 256 or value * 2 != int(value * 2):
            problems.append(f"{key} must be {lowest} to 256 in steps of 0.5; got {value:g}")
    if min_acu > max_acu:
        problems.append(
            f"payments:dbMinCapacity must not exceed payments:dbMaxCapacity; "
            f"got {min_acu:g} > {max_acu:g}"
        )
    days_text = raw.get("payments:dbBackupRetentionDays", str(DEFAULT_DB_BACKUP_RETENTION_DAYS))
    days = int(days_text) if re.fullmatch(r"-?\d+", days_text) else -1
    # A week at least (time to notice and recover); 35 is the most AWS keeps.
    if not 7 <= days <= 35:
        problems.append(
            f'payments:dbBackupRetentionDays must be a whole number from 7 to 35; got "{days_text}"'
        )
    rotation_text = raw.get("payments:dbRotationDays", "0")
    rotation = int(rotation_text) if re.fullmatch(r"\d+", rotation_text) else -1
    if not 0 <= rotation <= 365:
        problems.append(
            f"payments:dbRotationDays must be 0 (off) or a whole number from 1 to 365; "
            f'got "{rotation_text}"'
        )
    settings = DatabaseSettings(
        engine_version=version,
        min_capacity=min_acu,
        max_capacity=max_acu,
        backup_retention_days=days,
        rotation_days=max(rotation, 0),
    )
    return settings, problems


DNS_NAME = r"(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}"
ACM_ARN = r"arn:aws:acm:us-east-1:\d{12}:certificate/[0-9a-f-]{36}"


def _parse_certificates(raw: Mapping[str, str]) -> tuple[CertificateSettings, list[str]]:
    values = {
        key: raw.get(f"payments:{key}") or None
        for key in (
            "domainName",
            "hostedZoneId",
            "certificateArn",
            "cloudfrontCertificateArn",
            "apiDomainName",
            "siteDomainName",
        )
    }
    problems = []
    for key in ("domainName", "apiDomainName", "siteDomainName"):
        value = values[key]
        if value is not None and not re.fullmatch(DNS_NAME, value):
            problems.append(
                f"payments:{key} must be a lowercase DNS name such as pay.example.com; "
                f'got "{value}"'
            )
    zone = values["hostedZoneId"]
    if zone is not None and not re.fullmatch(r"Z[A-Z0-9]{1,31}", zone):
        problems.append(f'payments:hostedZoneId must be a Route 53 zone id (Z...); got "{zone}"')
    for key in ("certificateArn", "cloudfrontCertificateArn"):
        value = values[key]
        if value is not None and not re.fullmatch(ACM_ARN, value):
            problems.append(
                f"payments:{key} must be an ACM certificate ARN in us-east-1 "
                f'(arn:aws:acm:us-east-1:<account>:certificate/<id>); got "{value}"'
            )
    if values["domainName"] and not zone:
        problems.append(
            "payments:hostedZoneId must be set with payments:domainName (the zone that "
            "validates the certificates); got nothing"
        )
    if zone and not values["domainName"]:
        problems.append("payments:domainName must be set with payments:hostedZoneId; got nothing")
    if values["domainName"] and values["certificateArn"]:
        problems.append(
            "Only one of `payments:domainName` or `payments:certificateArn` can be provided."
        )
    for key in ("cloudfrontCertificateArn", "apiDomainName"):
        if values[key] and not values["certificateArn"]:
            problems.append(
                f"payments:{key} must come with payments:certificateArn (certificate mode 2); "
                f'got "{values[key]}" alone'
            )
    if bool(values["siteDomainName"]) != bool(values["cloudfrontCertificateArn"]):
        problems.append(
            "payments:siteDomainName and payments:cloudfrontCertificateArn must be set "
            "together (the name and the certificate CloudFront serves it with)"
        )
    return CertificateSettings(
        domain_name=values["domainName"],
        site_domain_name=values["siteDomainName"],
        hosted_zone_id=zone,
        certificate_arn=values["certificateArn"],
        cloudfront_certificate_arn=values["cloudfrontCertificateArn"],
        api_domain_name=values["apiDomainName"],
    ), problems


def _parse_int(raw: Mapping[str, str], key: str, default: int) -> tuple[int, list[str]]:
    text = raw.get(key)
    if text is None:
        return default, []
    if not re.fullmatch(r"\d+", text):
        return default, [f'{key} must be a whole number; got "{text}"']
    return int(text), []


def _parse_service(raw: Mapping[str, str]) -> tuple[ServiceSettings, list[str]]:
    problems = []
    cpu, found = _parse_int(raw, "payments:apiCpu", DEFAULT_API_CPU)
    problems += found
    memory, found = _parse_int(raw, "payments:apiMemory", DEFAULT_API_MEMORY)
    problems += found
    if cpu not in FARGATE_SIZES:
        problems.append(
            f"payments:apiCpu must be one of {', '.join(map(str, FARGATE_SIZES))}; got {cpu}"
        )
    elif memory not in FARGATE_SIZES[cpu]:
        sizes = FARGATE_SIZES[cpu]
        problems.append(
            f"payments:apiMemory must be a size Fargate allows with {cpu} CPU units "
            f"({sizes.start} to {sizes.stop - 1} MiB in steps of {sizes.step}); got {memory}"
        )
    architecture = raw.get("payments:apiCpuArchitecture", "ARM64")
    if architecture not in ("ARM64", "X86_64"):
        problems.append(
            f'payments:apiCpuArchitecture must be ARM64 or X86_64; got "{architecture}"'
        )
    policy = raw.get("payments:albTlsPolicy", DEFAULT_ALB_TLS_POLICY)
    if not re.fullmatch(r"ELBSecurityPolicy-TLS13-[A-Za-z0-9-]+", policy):
        problems.append(
            "payments:albTlsPolicy must be an ELB security policy with TLS 1.3 "
            f'(ELBSecurityPolicy-TLS13-...); got "{policy}"'
        )
    ingress = raw.get("payments:albIngress", "internet")
    if ingress not in ("internet", "cloudfront"):
        problems.append(f'payments:albIngress must be internet or cloudfront; got "{ingress}"')
    image = raw.get("payments:apiImage") or None
    if image is not None and not re.fullmatch(
        r"[a-z0-9][a-z0-9._/:-]*(:[\w.-]+|@sha256:[0-9a-f]{64})", image
    ):
        problems.append(
            "payments:apiImage must be an image reference with a tag or digest, e.g. "
            f'123456789012.dkr.ecr.us-east-1.amazonaws.com/api:1.2; got "{image}"'
        )
    keep, found = _parse_int(raw, "payments:ecrKeepImages", DEFAULT_ECR_KEEP_IMAGES)
    problems += found
    if not 1 <= keep <= 1000:
        problems.append(f"payments:ecrKeepImages must be 1 to 1000; got {keep}")
    return ServiceSettings(
        image=image,
        cpu=cpu,
        memory=memory,
        cpu_architecture=architecture,
        tls_policy=policy,
        ingress=ingress,
        ecr_keep_images=keep,
    ), problems


def _ingress_problems(service: ServiceSettings, certificates: CertificateSettings) -> list[str]:
    """CloudFront-only ingress leaves the API unreachable unless CloudFront has an /api origin,
    which needs a name the ALB's certificate covers (modes 1 and 2 with apiDomainName)."""
    if service.ingress != "cloudfront" or certificates.domain_name or certificates.api_domain_name:
        return []
    return [
        "payments:albIngress must be internet unless CloudFront routes /api to the ALB "
        "(set payments:domainName and payments:hostedZoneId, or payments:certificateArn and "
        'payments:apiDomainName); got "cloudfront"'
    ]


def _parse_frontend(raw: Mapping[str, str]) -> tuple[FrontendSettings, list[str]]:
    problems = []
    price_class = raw.get("payments:priceClass", "PriceClass_100")
    if price_class not in PRICE_CLASSES:
        problems.append(
            f'payments:priceClass must be one of {", ".join(PRICE_CLASSES)}; got "{price_class}"'
        )
    limit, found = _parse_int(raw, "payments:wafRateLimit", DEFAULT_WAF_RATE_LIMIT)
    problems += found
    if not 100 <= limit <= 2_000_000:
        problems.append(f"payments:wafRateLimit must be 100 to 2000000; got {limit}")
    dist_dir = raw.get("payments:webDistDir", DEFAULT_WEB_DIST_DIR)
    return FrontendSettings(
        dist_dir=dist_dir, price_class=price_class, waf_rate_limit=limit
    ), problems


EMAIL = r"[^@\s]+@[^@\s]+\.[^@\s]+"


def _parse_observability(raw: Mapping[str, str]) -> tuple[ObservabilitySettings, list[str]]:
    problems = []
    text = raw.get("payments:alertEmails", "[]")
    try:
        emails = json.loads(text)
    except json.JSONDecodeError:
        emails = None
    if not isinstance(emails, list) or not all(isinstance(e, str) for e in emails):
        problems.append(f"payments:alertEmails must be a list of e-mail addresses; got {text}")
        emails = []
    bad = [e for e in emails if not re.fullmatch(EMAIL, e)]
    if bad:
        problems.append(f"payments:alertEmails must hold e-mail addresses only; got {bad}")
    delivery = raw.get("payments:albAccessLogDelivery", "forwarder")
    if delivery not in ("forwarder", "native"):
        problems.append(
            f'payments:albAccessLogDelivery must be forwarder or native; got "{delivery}"'
        )
    archive = raw.get("payments:logArchive", "none")
    if archive not in ("none", "s3"):
        problems.append(f'payments:logArchive must be none or s3; got "{archive}"')
    settings = ObservabilitySettings(
        alert_emails=tuple(emails), alb_log_delivery=delivery, log_archive=archive
    )
    return settings, problems
