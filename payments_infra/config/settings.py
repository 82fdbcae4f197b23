"""Every setting of the stack, declared once: key, type, default, rule, description, parser.

``SETTINGS`` lists them in the order the docs show them; ``CROSS_RULES`` holds the rules over
several keys. ``stack_config.py`` reads them into a ``StackConfig``; ``docs.py`` writes the
docs/settings.md table and the ``template.config`` block of ``Pulumi.yaml`` from them.

Why not pydantic(-settings), as the API does: the messages are this project's own
(``<key> must <rule>; got <value>``), so every field would need a custom validator and every
error would need rewriting from pydantic's (``Value error, ...``); a model validator across
keys does not run once a field has failed, so "every problem at once" (a capacity out of range
*and* above the maximum) would be lost; and the keys are ``namespace:camelCase``, an alias per
field. What pydantic would add is the parsing of a handful of scalars, done below in a few lines.
"""

from __future__ import annotations

import ipaddress
import json
import re
from typing import Any

from payments_infra.aws.naming import MAX_SUFFIX_LENGTH, SUFFIX_KEY, suffix_problems
from payments_infra.config.choices import (
    CpuArchitecture,
    Ingress,
    LogArchive,
    LogDelivery,
    PriceClass,
)
from payments_infra.config.setting import (
    CrossRule,
    Parse,
    Parsed,
    Setting,
    Values,
    any_text,
    choice_rule,
    number,
    one_of,
    text_matching,
    text_where,
    whole_number,
    whole_number_from,
)

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
RFC1918_BLOCKS = ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16")
MIN_DB_MAJOR = 16
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
DNS_NAME = r"(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}"
ACM_ARN = r"arn:aws:acm:us-east-1:\d{12}:certificate/[0-9a-f-]{36}"
EMAIL = r"[^@\s]+@[^@\s]+\.[^@\s]+"


# -- parsers of the settings that break more than one way --------------------------------------


def _suffix(setting: Setting[str], text: str) -> Parsed[str]:
    return text, suffix_problems(text)


def _region(setting: Setting[str], text: str) -> Parsed[str]:
    if text == REQUIRED_REGION:
        return text, []
    return REQUIRED_REGION, [setting.broken(f'"{text}"' if text else "nothing")]


def _vpc_cidr(setting: Setting[ipaddress.IPv4Network], text: str) -> Parsed[ipaddress.IPv4Network]:
    key = setting.key
    try:
        network = ipaddress.IPv4Network(text, strict=False)
    except ValueError:
        return setting.default, [
            f'{key} must be an IPv4 CIDR block such as 10.0.0.0/16; got "{text}"'
        ]
    if "/" not in text:
        return setting.default, [
            f'{key} must give a prefix length, such as 10.0.0.0/16; got "{text}"'
        ]
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
    return network, problems


def _zones(setting: Setting[tuple[str, ...] | None], text: str) -> Parsed[tuple[str, ...] | None]:
    key = setting.key
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
    return tuple(zones), problems


def _emails(setting: Setting[tuple[str, ...]], text: str) -> Parsed[tuple[str, ...]]:
    try:
        emails = json.loads(text)
    except json.JSONDecodeError:
        emails = None
    if not isinstance(emails, list) or not all(isinstance(e, str) for e in emails):
        return setting.default, [setting.broken(text)]
    bad = [e for e in emails if not re.fullmatch(EMAIL, e)]
    if bad:
        return tuple(emails), [f"{setting.key} must hold e-mail addresses only; got {bad}"]
    return tuple(emails), []


def _engine_version(text: str) -> bool:
    match = re.fullmatch(r"(\d+)(\.\d+)?", text)
    return match is not None and int(match[1]) >= MIN_DB_MAJOR


def _capacity(lowest: float) -> Parse[float]:
    # Aurora Serverless v2 moves in half ACUs, up to 256.
    return number(lambda acu: lowest <= acu <= 256 and acu * 2 == int(acu * 2))


def _optional(key: str, **declared: Any) -> Setting[Any]:
    """An optional name or ARN: unset (or empty) means none."""
    return Setting(
        key=key,
        type="string",
        default=None,
        shown_default="(none)",
        blank_is_unset=True,
        **declared,
    )


# -- the settings, in the order of the docs ----------------------------------------------------

ENVIRONMENT_SUFFIX: Setting[str] = Setting(
    key=SUFFIX_KEY,
    type="string",
    default="",
    required=True,
    rule="lowercase letters, digits and single hyphens; starts with a letter; at most "
    f"{MAX_SUFFIX_LENGTH} characters, so that every derived name fits its AWS limit (naming.py)",
    description="Ends every physical name, `{resource-type}-{environmentSuffix}`. "
    "Must make S3 bucket names globally unique.",
    parse=_suffix,
)
REGION: Setting[str] = Setting(
    key="aws:region",
    type="string",
    default=REQUIRED_REGION,
    required=True,
    rule=REQUIRED_REGION,
    description="AWS region. The platform is built and priced for us-east-1 only.",
    parse=_region,
)
VPC_CIDR: Setting[ipaddress.IPv4Network] = Setting(
    key="payments:vpcCidr",
    type="string",
    default=ipaddress.IPv4Network("10.0.0.0/16"),
    rule=f"an RFC 1918 IPv4 network from /{MIN_VPC_PREFIX} to /{MAX_VPC_PREFIX}",
    description="VPC address range. Private subnets get a quarter each, public subnets "
    "a sixteenth each.",
    parse=_vpc_cidr,
)
AVAILABILITY_ZONES: Setting[tuple[str, ...] | None] = Setting(
    key="payments:availabilityZones",
    type=f"list of {AZ_COUNT} strings",
    default=None,  # look the zones up (provider.resolve_availability_zones)
    shown_default=f"first {AZ_COUNT} available zones of the region (opt-in not required)",
    rule=f"exactly {AZ_COUNT} distinct zone names of {REQUIRED_REGION}, e.g. us-east-1a",
    description="Pin the zones, e.g. to avoid a zone that lacks capacity for the "
    "instance types you need. Otherwise the stack looks them up.",
    parse=_zones,
)
DB_ENGINE_VERSION: Setting[str] = Setting(
    key="payments:dbEngineVersion",
    type="string",
    default="17",
    rule=f"an Aurora PostgreSQL version such as 17 or 17.6, major {MIN_DB_MAJOR} or newer",
    description="A major version takes the region's default minor version for it at "
    "creation; Aurora applies later minor versions itself in the maintenance window.",
    parse=text_where(_engine_version),
)
DB_MIN_CAPACITY: Setting[float] = Setting(
    key="payments:dbMinCapacity",
    type="number (ACU)",
    default=1.0,
    rule="0.5 to 256 in steps of 0.5",
    description="Aurora Serverless v2 floor of the writer and the reader (1 ACU is about "
    "2 GiB of memory). The reader scales with the writer, so a failover lands warm.",
    parse=_capacity(0.5),
)
DB_MAX_CAPACITY: Setting[float] = Setting(
    key="payments:dbMaxCapacity",
    type="number (ACU)",
    default=16.0,
    rule="1.0 to 256 in steps of 0.5",
    description="Aurora Serverless v2 ceiling: caps the cost of a load spike.",
    parse=_capacity(1.0),
)
DB_BACKUP_RETENTION_DAYS: Setting[int] = Setting(
    key="payments:dbBackupRetentionDays",
    type="integer",
    default=7,
    # A week at least (time to notice and recover); 35 is the most AWS keeps.
    rule="a whole number from 7 to 35",
    description="Days of automated backups and point-in-time recovery.",
    parse=whole_number_from(7, 35),
)
DB_ROTATION_DAYS: Setting[int] = Setting(
    key="payments:dbRotationDays",
    type="integer",
    default=0,
    shown_default="0 (off)",
    rule="0 (off) or a whole number from 1 to 365",
    description="Rotate the master password every N days with AWS's single-user "
    "PostgreSQL rotation function. Off by default: rotation rewrites `password` but "
    "not `url` in the secret (see docs/architecture.md, Database).",
    parse=whole_number_from(0, 365),
)
_DNS_NAME_RULE = "a lowercase DNS name such as pay.example.com"
_ACM_ARN_RULE = (
    "an ACM certificate ARN in us-east-1 (arn:aws:acm:us-east-1:<account>:certificate/<id>)"
)
DOMAIN_NAME: Setting[str | None] = _optional(
    "payments:domainName",
    rule=_DNS_NAME_RULE,
    description="Certificate mode 1: a name you control. ACM certificates validated in "
    "Route 53 for `api.<domain>` (ALB) and `<domain>` (CloudFront), and the alias records.",
    parse=text_matching(DNS_NAME),
)
HOSTED_ZONE_ID: Setting[str | None] = _optional(
    "payments:hostedZoneId",
    rule="a Route 53 zone id (Z...)",
    description="The public hosted zone of payments:domainName, which the validation and "
    "alias records go into.",
    parse=text_matching(r"Z[A-Z0-9]{1,31}"),
)
CERTIFICATE_ARN: Setting[str | None] = _optional(
    "payments:certificateArn",
    rule=_ACM_ARN_RULE,
    description="Certificate mode 2: an existing certificate for the ALB.",
    parse=text_matching(ACM_ARN),
)
CLOUDFRONT_CERTIFICATE_ARN: Setting[str | None] = _optional(
    "payments:cloudfrontCertificateArn",
    rule=_ACM_ARN_RULE,
    description="Mode 2: an existing certificate for CloudFront's own name "
    "(payments:siteDomainName).",
    parse=text_matching(ACM_ARN),
)
SITE_DOMAIN_NAME: Setting[str | None] = _optional(
    "payments:siteDomainName",
    rule=_DNS_NAME_RULE,
    description="Mode 2: the site's own name on CloudFront, covered by "
    "payments:cloudfrontCertificateArn (you point it at the distribution).",
    parse=text_matching(DNS_NAME),
)
API_DOMAIN_NAME: Setting[str | None] = _optional(
    "payments:apiDomainName",
    rule=_DNS_NAME_RULE,
    description="Mode 2: a name covered by payments:certificateArn (pointed at the ALB by "
    "you) that CloudFront uses to reach /api over verified HTTPS.",
    parse=text_matching(DNS_NAME),
)
API_IMAGE: Setting[str | None] = Setting(
    key="payments:apiImage",
    type="string",
    default=None,
    shown_default="(build app/api)",
    blank_is_unset=True,
    rule="an image reference with a tag or digest, e.g. "
    "123456789012.dkr.ecr.us-east-1.amazonaws.com/api:1.2",
    description="A prebuilt API image. Without it `pulumi up` builds app/api with Docker "
    "and pushes it to the stack's ECR repository.",
    parse=text_matching(r"[a-z0-9][a-z0-9._/:-]*(:[\w.-]+|@sha256:[0-9a-f]{64})"),
)
API_CPU: Setting[int] = Setting(
    key="payments:apiCpu",
    type="integer (CPU units)",
    default=512,
    rule=f"one of {', '.join(map(str, FARGATE_SIZES))}",
    description="Task CPU. One uvicorn worker uses at most one vCPU; half of one "
    "serves the reference API's load, and autoscaling adds tasks.",
    parse=whole_number(lambda cpu: cpu in FARGATE_SIZES),
)
API_MEMORY: Setting[int] = Setting(
    key="payments:apiMemory",
    type="integer (MiB)",
    default=1024,
    rule="a whole number",
    description="Task memory.",
    parse=whole_number(),
)
API_CPU_ARCHITECTURE: Setting[CpuArchitecture] = Setting(
    key="payments:apiCpuArchitecture",
    type="string",
    default=CpuArchitecture.ARM64,
    rule=choice_rule(CpuArchitecture),
    description="Graviton (ARM64) costs about 20% less per vCPU-hour; the image builds for both.",
    parse=one_of(CpuArchitecture),
)
ALB_TLS_POLICY: Setting[str] = Setting(
    key="payments:albTlsPolicy",
    type="string",
    # AWS's recommended ALB policy when last checked ("describe-ssl-policies" page): TLS 1.3
    # and 1.2 with post-quantum key exchange. The API's own default is still the 2016 policy.
    default="ELBSecurityPolicy-TLS13-1-2-Res-PQ-2025-09",
    rule="an ELB security policy with TLS 1.3 (ELBSecurityPolicy-TLS13-...)",
    description="TLS policy of the HTTPS listener.",
    parse=text_matching(r"ELBSecurityPolicy-TLS13-[A-Za-z0-9-]+"),
)
ALB_INGRESS: Setting[Ingress] = Setting(
    key="payments:albIngress",
    type="string",
    default=Ingress.INTERNET,
    rule=choice_rule(Ingress),
    description="Who may reach the ALB on 443: anyone, or only CloudFront's "
    "origin-facing addresses (managed prefix list).",
    parse=one_of(Ingress),
)
ECR_KEEP_IMAGES: Setting[int] = Setting(
    key="payments:ecrKeepImages",
    type="integer",
    default=20,
    rule="1 to 1000",
    description="How many images the ECR repository keeps; older ones expire.",
    parse=whole_number(lambda keep: 1 <= keep <= 1000),
)
WEB_DIST_DIR: Setting[str] = Setting(
    key="payments:webDistDir",
    type="string",
    default="app/web/dist",
    rule="a folder holding the built web app (index.html); relative to the project",
    description="What the stack uploads to the frontend bucket. `make up` builds it first.",
    parse=any_text,  # site.load_site checks it, before any resource exists
)
PRICE_CLASS: Setting[PriceClass] = Setting(
    key="payments:priceClass",
    type="string",
    default=PriceClass.PRICE_CLASS_100,
    rule=choice_rule(PriceClass),
    description="CloudFront edge locations: 100 (North America, Europe) is the cheapest.",
    parse=one_of(PriceClass),
)
WAF_RATE_LIMIT: Setting[int] = Setting(
    key="payments:wafRateLimit",
    type="integer",
    default=2000,
    rule="100 to 2000000",
    description="Requests per client IP per 5 minutes above which WAF blocks the IP for a "
    "while (rate-based rule).",
    parse=whole_number(lambda limit: 100 <= limit <= 2_000_000),
)
ALERT_EMAILS: Setting[tuple[str, ...]] = Setting(
    key="payments:alertEmails",
    type="list of strings",
    default=(),
    shown_default="[] (no subscriptions)",
    rule="a list of e-mail addresses",
    description="Subscribed to the alerts topic; each must confirm AWS's e-mail.",
    parse=_emails,
)
ALB_ACCESS_LOG_DELIVERY: Setting[LogDelivery] = Setting(
    key="payments:albAccessLogDelivery",
    type="string",
    default=LogDelivery.FORWARDER,
    rule=choice_rule(LogDelivery),
    description="How ALB access logs reach CloudWatch: the stack's Lambda forwarder (works "
    "for certain), or CloudWatch vended-log delivery (see docs/architecture.md, ALB access "
    "logs, for its caveat).",
    parse=one_of(LogDelivery),
)
LOG_ARCHIVE: Setting[LogArchive] = Setting(
    key="payments:logArchive",
    type="string",
    default=LogArchive.NONE,
    rule=choice_rule(LogArchive),
    description="s3: also copy every log group to an S3 archive kept 365 days (PCI DSS "
    "10.5.1), through subscription filters and Firehose. Costs grow with log volume.",
    parse=one_of(LogArchive),
)

SETTINGS: tuple[Setting[Any], ...] = (
    ENVIRONMENT_SUFFIX,
    REGION,
    VPC_CIDR,
    AVAILABILITY_ZONES,
    DB_ENGINE_VERSION,
    DB_MIN_CAPACITY,
    DB_MAX_CAPACITY,
    DB_BACKUP_RETENTION_DAYS,
    DB_ROTATION_DAYS,
    DOMAIN_NAME,
    HOSTED_ZONE_ID,
    CERTIFICATE_ARN,
    CLOUDFRONT_CERTIFICATE_ARN,
    SITE_DOMAIN_NAME,
    API_DOMAIN_NAME,
    API_IMAGE,
    API_CPU,
    API_MEMORY,
    API_CPU_ARCHITECTURE,
    ALB_TLS_POLICY,
    ALB_INGRESS,
    ECR_KEEP_IMAGES,
    WEB_DIST_DIR,
    PRICE_CLASS,
    WAF_RATE_LIMIT,
    ALERT_EMAILS,
    ALB_ACCESS_LOG_DELIVERY,
    LOG_ARCHIVE,
)


# -- the rules over several keys ---------------------------------------------------------------


def _capacity_order(values: Values) -> list[str]:
    low, high = values[DB_MIN_CAPACITY], values[DB_MAX_CAPACITY]
    if low > high:  # not "not low <= high": NaN is its own setting's problem
        return [
            f"{DB_MIN_CAPACITY.key} must not exceed {DB_MAX_CAPACITY.key}; got {low:g} > {high:g}"
        ]
    return []


def _dns_mode_pair(values: Values) -> list[str]:
    domain, zone = values[DOMAIN_NAME], values[HOSTED_ZONE_ID]
    if domain and not zone:
        return [
            f"{HOSTED_ZONE_ID.key} must be set with {DOMAIN_NAME.key} (the zone that "
            "validates the certificates); got nothing"
        ]
    if zone and not domain:
        return [f"{DOMAIN_NAME.key} must be set with {HOSTED_ZONE_ID.key}; got nothing"]
    return []


def _one_certificate_mode(values: Values) -> list[str]:
    if values[DOMAIN_NAME] and values[CERTIFICATE_ARN]:
        return [f"Only one of `{DOMAIN_NAME.key}` or `{CERTIFICATE_ARN.key}` can be provided."]
    return []


def _mode_2_extras(values: Values) -> list[str]:
    if values[CERTIFICATE_ARN]:
        return []
    return [
        f"{setting.key} must come with {CERTIFICATE_ARN.key} (certificate mode 2); "
        f'got "{values[setting]}" alone'
        for setting in (CLOUDFRONT_CERTIFICATE_ARN, API_DOMAIN_NAME)
        if values[setting]
    ]


def _site_name_with_certificate(values: Values) -> list[str]:
    if bool(values[SITE_DOMAIN_NAME]) == bool(values[CLOUDFRONT_CERTIFICATE_ARN]):
        return []
    return [
        f"{SITE_DOMAIN_NAME.key} and {CLOUDFRONT_CERTIFICATE_ARN.key} must be set "
        "together (the name and the certificate CloudFront serves it with)"
    ]


def _fargate_size(values: Values) -> list[str]:
    cpu, memory = values[API_CPU], values[API_MEMORY]
    sizes = FARGATE_SIZES.get(cpu)
    if sizes is None or memory in sizes:  # an unknown CPU is API_CPU's own problem
        return []
    return [
        f"{API_MEMORY.key} must be a size Fargate allows with {cpu} CPU units "
        f"({sizes.start} to {sizes.stop - 1} MiB in steps of {sizes.step}); got {memory}"
    ]


def _ingress_needs_an_api_origin(values: Values) -> list[str]:
    """CloudFront-only ingress leaves the API unreachable unless CloudFront has an /api origin,
    which needs a name the ALB's certificate covers (modes 1 and 2 with apiDomainName)."""
    if values[ALB_INGRESS] != Ingress.CLOUDFRONT or values[DOMAIN_NAME] or values[API_DOMAIN_NAME]:
        return []
    return [
        f"{ALB_INGRESS.key} must be internet unless CloudFront routes /api to the ALB "
        f"(set {DOMAIN_NAME.key} and {HOSTED_ZONE_ID.key}, or {CERTIFICATE_ARN.key} and "
        f'{API_DOMAIN_NAME.key}); got "cloudfront"'
    ]


_DEFAULT_SIZES = FARGATE_SIZES[API_CPU.default]
CROSS_RULES: tuple[CrossRule, ...] = (
    CrossRule(
        {
            DB_MIN_CAPACITY.key: f"at most {DB_MAX_CAPACITY.key}",
            DB_MAX_CAPACITY.key: f"at least {DB_MIN_CAPACITY.key}",
        },
        _capacity_order,
    ),
    CrossRule(
        {
            DOMAIN_NAME.key: f"needs {HOSTED_ZONE_ID.key}",
            HOSTED_ZONE_ID.key: f"only with {DOMAIN_NAME.key}",
        },
        _dns_mode_pair,
    ),
    CrossRule(
        {
            DOMAIN_NAME.key: f"not with {CERTIFICATE_ARN.key}",
            CERTIFICATE_ARN.key: f"not with {DOMAIN_NAME.key}",
        },
        _one_certificate_mode,
    ),
    CrossRule(
        {
            CLOUDFRONT_CERTIFICATE_ARN.key: f"only with {CERTIFICATE_ARN.key}",
            API_DOMAIN_NAME.key: f"only with {CERTIFICATE_ARN.key}",
        },
        _mode_2_extras,
    ),
    CrossRule(
        {
            SITE_DOMAIN_NAME.key: f"both or neither with {CLOUDFRONT_CERTIFICATE_ARN.key}",
            CLOUDFRONT_CERTIFICATE_ARN.key: f"both or neither with {SITE_DOMAIN_NAME.key}",
        },
        _site_name_with_certificate,
    ),
    CrossRule(
        {
            API_CPU.key: "with a memory size Fargate allows",
            API_MEMORY.key: f"a size Fargate allows for {API_CPU.key} ({API_CPU.default}: "
            f"{_DEFAULT_SIZES.start} to {_DEFAULT_SIZES.stop - 1} in {_DEFAULT_SIZES.step} steps)",
        },
        _fargate_size,
    ),
    CrossRule(
        {
            ALB_INGRESS.key: "cloudfront only where CloudFront routes /api to the ALB "
            f"({DOMAIN_NAME.key}, or {CERTIFICATE_ARN.key} with {API_DOMAIN_NAME.key})",
        },
        _ingress_needs_an_api_origin,
    ),
)
