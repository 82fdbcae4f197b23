"""StackConfig: every setting of the stack, read once, validated once.

``load_stack_config()`` is the only place the program reads Pulumi config. It checks every
value before the first resource exists and raises one ``ConfigError`` that lists every
problem, each as ``<key> must <rule>; got <value>``.

Each field below names the setting it holds (``bound(SETTING)``): its type, default and rule
are that declaration's (settings.py, or its tier's ``*_settings.py``), and
``StackConfig.from_mapping`` fills the fields from the declarations, so a setting is written
once and bound once.
"""

# bound(...) returns a dataclasses.field (metadata: the setting; default: its default).
# ruff: noqa: RUF009

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass

import pulumi
from pulumi.runtime import config as pulumi_runtime_config

from payments_infra.config.certificate_settings import (
    API_DOMAIN_NAME,
    CERTIFICATE_ARN,
    CLOUDFRONT_CERTIFICATE_ARN,
    DOMAIN_NAME,
    HOSTED_ZONE_ID,
    SITE_DOMAIN_NAME,
)
from payments_infra.config.choices import (
    CertificateMode,
    CpuArchitecture,
    Environment,
    Ingress,
    LogArchive,
    LogDelivery,
    PriceClass,
)
from payments_infra.config.cross_rules import CROSS_RULES
from payments_infra.config.database_settings import (
    DB_BACKUP_RETENTION_DAYS,
    DB_ENGINE_VERSION,
    DB_MAX_CAPACITY,
    DB_MIN_CAPACITY,
    DB_ROTATION_DAYS,
    PROTECT_DATA,
)
from payments_infra.config.errors import ConfigError
from payments_infra.config.frontend_settings import (
    ORIGIN_HEADER_ROTATION_DAYS,
    PRICE_CLASS,
    WAF_RATE_LIMIT,
    WEB_DIST_DIR,
)
from payments_infra.config.limits import PROJECT_NAMESPACE
from payments_infra.config.observability_settings import (
    ALB_ACCESS_LOG_DELIVERY,
    ALERT_EMAILS,
    LOG_ARCHIVE,
)
from payments_infra.config.service_settings import (
    ALB_INGRESS,
    ALB_TLS_POLICY,
    API_CPU,
    API_CPU_ARCHITECTURE,
    API_IMAGE,
    API_IMAGE_TAG,
    API_MEMORY,
    ECR_KEEP_IMAGES,
)
from payments_infra.config.setting import bound, build, read_all, unknown_key_problems
from payments_infra.config.settings import (
    ACCOUNT_CONTROLS,
    ACCOUNT_ID,
    AVAILABILITY_ZONES,
    DEPLOYER_ROLE_ARNS,
    DNS_ALLOW_LIST,
    EGRESS_ALLOW_LIST,
    ENVIRONMENT,
    ENVIRONMENT_SUFFIX,
    FINDINGS_MIN_SEVERITY,
    REGION,
    SETTINGS,
    VPC_CIDR,
    VPC_ENDPOINTS,
)


@dataclass(frozen=True, kw_only=True)
class DatabaseSettings:
    """The Aurora settings a stack may change (why: database_settings.py, docs/architecture.md)."""

    engine_version: str = bound(DB_ENGINE_VERSION)
    min_capacity: float = bound(DB_MIN_CAPACITY)
    max_capacity: float = bound(DB_MAX_CAPACITY)
    backup_retention_days: int = bound(DB_BACKUP_RETENTION_DAYS)
    rotation_days: int = bound(DB_ROTATION_DAYS)  # 0: no automatic rotation
    protect_data: bool = bound(PROTECT_DATA)  # deletion protection, `protect`, snapshot


@dataclass(frozen=True, kw_only=True)
class CertificateSettings:
    """Which certificate mode the stack uses, and its inputs (docs/architecture.md, API tier)."""

    domain_name: str | None = bound(DOMAIN_NAME)
    hosted_zone_id: str | None = bound(HOSTED_ZONE_ID)
    certificate_arn: str | None = bound(CERTIFICATE_ARN)
    cloudfront_certificate_arn: str | None = bound(CLOUDFRONT_CERTIFICATE_ARN)
    api_domain_name: str | None = bound(API_DOMAIN_NAME)
    site_domain_name: str | None = bound(SITE_DOMAIN_NAME)

    @property
    def mode(self) -> CertificateMode:
        """``dns`` (mode 1), ``existing`` (mode 2) or ``self-signed`` (mode 3, a demo)."""
        if self.domain_name:
            return CertificateMode.DNS
        if self.certificate_arn:
            return CertificateMode.EXISTING
        return CertificateMode.SELF_SIGNED


@dataclass(frozen=True, kw_only=True)
class ServiceSettings:
    """The API service's settings (why: service_settings.py, docs/architecture.md)."""

    image: str | None = bound(API_IMAGE)
    image_tag: str | None = bound(API_IMAGE_TAG)  # an earlier image of the stack's own
    cpu: int = bound(API_CPU)
    memory: int = bound(API_MEMORY)
    cpu_architecture: CpuArchitecture = bound(API_CPU_ARCHITECTURE)
    tls_policy: str = bound(ALB_TLS_POLICY)
    ingress: Ingress = bound(ALB_INGRESS)
    ecr_keep_images: int = bound(ECR_KEEP_IMAGES)


@dataclass(frozen=True, kw_only=True)
class FrontendSettings:
    """The frontend tier's settings (why: frontend_settings.py, docs/architecture.md)."""

    dist_dir: str = bound(WEB_DIST_DIR)
    price_class: PriceClass = bound(PRICE_CLASS)
    waf_rate_limit: int = bound(WAF_RATE_LIMIT)
    origin_header_rotation_days: int = bound(ORIGIN_HEADER_ROTATION_DAYS)


@dataclass(frozen=True, kw_only=True)
class ObservabilitySettings:
    """Alert recipients, the ALB access-log path and the log archive."""

    alert_emails: tuple[str, ...] = bound(ALERT_EMAILS)
    alb_log_delivery: LogDelivery = bound(ALB_ACCESS_LOG_DELIVERY)
    log_archive: LogArchive = bound(LOG_ARCHIVE)


TIERS = (
    DatabaseSettings,
    CertificateSettings,
    ServiceSettings,
    FrontendSettings,
    ObservabilitySettings,
)


@dataclass(frozen=True, kw_only=True)
class StackConfig:
    """The validated settings of one stack. Build it with ``StackConfig.from_mapping``."""

    environment_suffix: str = bound(ENVIRONMENT_SUFFIX)
    environment: Environment = bound(ENVIRONMENT)  # the Environment tag (tagging.py)
    region: str = bound(REGION)
    account_id: str | None = bound(ACCOUNT_ID)
    deployer_role_arns: tuple[str, ...] = bound(DEPLOYER_ROLE_ARNS)
    vpc_cidr: ipaddress.IPv4Network = bound(VPC_CIDR)
    # None means "look the zones up" (provider.resolve_zones).
    availability_zones: tuple[str, ...] | None = bound(AVAILABILITY_ZONES)
    vpc_endpoints: bool = bound(VPC_ENDPOINTS)
    egress_allow_list: tuple[tuple[ipaddress.IPv4Network, int], ...] = bound(EGRESS_ALLOW_LIST)
    dns_allow_list: tuple[str, ...] = bound(DNS_ALLOW_LIST)  # beyond the AWS names it needs
    account_controls: bool = bound(ACCOUNT_CONTROLS)
    findings_min_severity: float = bound(FINDINGS_MIN_SEVERITY)  # GuardDuty's, to on-call
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
        problems = unknown_key_problems(raw, SETTINGS, PROJECT_NAMESPACE)
        values, found = read_all(raw, SETTINGS, CROSS_RULES)
        problems += found
        if problems:
            raise ConfigError(problems)
        return build(
            cls,
            values,
            database=build(DatabaseSettings, values),
            certificates=build(CertificateSettings, values),
            service=build(ServiceSettings, values),
            frontend=build(FrontendSettings, values),
            observability=build(ObservabilitySettings, values),
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
