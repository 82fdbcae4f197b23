"""Every setting of the stack, declared once: key, type, default, rule, description, parser.

This module declares the stack's own settings (what it is, where it runs, its network) and
``SETTINGS``, every setting in the order the docs show them. Each tier's settings are declared
in a module of their own, as ``StackConfig`` groups them: ``database_settings.py``,
``certificate_settings.py``, ``service_settings.py``, ``frontend_settings.py`` and
``observability_settings.py``. The rules over several keys are in ``cross_rules.py``, the
limits and parsers in ``limits.py``. ``stack_config.py`` reads them into a ``StackConfig``;
``payments_infra/docs/generate.py`` writes the docs/settings.md table and the
``template.config`` block of ``Pulumi.yaml`` from them.

Why not pydantic(-settings), as the API does: the messages are this project's own
(``<key> must <rule>; got <value>``), so every field would need a custom validator and every
error would need rewriting from pydantic's (``Value error, ...``); a model validator across
keys does not run once a field has failed, so "every problem at once" (a capacity out of range
*and* above the maximum) would be lost; and the keys are ``namespace:camelCase``, an alias per
field. What pydantic would add is the parsing of a handful of scalars, done below in a few lines.
"""

from __future__ import annotations

import ipaddress
from typing import Any

from payments_infra.config.certificate_settings import (
    API_DOMAIN_NAME,
    CERTIFICATE_ARN,
    CLOUDFRONT_CERTIFICATE_ARN,
    DOMAIN_NAME,
    HOSTED_ZONE_ID,
    SITE_DOMAIN_NAME,
)
from payments_infra.config.choices import Environment
from payments_infra.config.database_settings import (
    DB_BACKUP_RETENTION_DAYS,
    DB_ENGINE_VERSION,
    DB_MAX_CAPACITY,
    DB_MIN_CAPACITY,
    DB_ROTATION_DAYS,
    PROTECT_DATA,
)
from payments_infra.config.frontend_settings import (
    ORIGIN_HEADER_ROTATION_DAYS,
    PRICE_CLASS,
    WAF_RATE_LIMIT,
    WEB_DIST_DIR,
)
from payments_infra.config.limits import (
    AZ_COUNT,
    MAX_VPC_PREFIX,
    MIN_VPC_PREFIX,
    REQUIRED_REGION,
    _dns_domains,
    _egress_destinations,
    _region,
    _role_arns,
    _suffix,
    _vpc_cidr,
    _zones,
)
from payments_infra.config.naming import MAX_SUFFIX_LENGTH, SUFFIX_KEY
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
from payments_infra.config.setting import (
    CreationOnly,
    Setting,
    choice_rule,
    number,
    one_of,
    text_matching,
    true_or_false,
)

# -- the stack's own settings: what it is, where it runs, its network --------------------------


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
    creation_only=CreationOnly(
        "every physical name ends in it, and a new name is a new resource: the Aurora "
        "cluster (`cluster_identifier`) and its instances, every bucket (`bucket`), log group "
        "and secret (`name`) and the ECR repository (`name`) would be replaced by empty ones"
    ),
)
ENVIRONMENT: Setting[Environment] = Setting(
    key="payments:environment",
    type="string",
    default=Environment.PRODUCTION,
    rule=choice_rule(Environment),
    description="What the stack is for: the `Environment` tag on every resource (cost "
    "reports, policies and people tell the stacks apart by it). One AWS account per "
    "environment (docs/environments.md).",
    parse=one_of(Environment),
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
ACCOUNT_ID: Setting[str | None] = Setting(
    key="payments:accountId",
    type="string",
    default=None,
    shown_default="(any account)",
    blank_is_unset=True,
    rule="the 12 digits of an AWS account id",
    description="The only AWS account this stack may deploy into: the stack's AWS provider "
    "refuses credentials of any other (allowed_account_ids), and the preflight of `make up` "
    "says so before anything starts. Set it on every real stack (docs/deploy.md, production "
    "checklist): credentials of the wrong account would otherwise build a second copy there.",
    parse=text_matching(r"[0-9]{12}"),
)
DEPLOYER_ROLE_ARNS: Setting[tuple[str, ...]] = Setting(
    key="payments:deployerRoleArns",
    type="list of strings",
    default=(),
    shown_default="[] (only the identity running `pulumi up`)",
    rule='a JSON list of IAM role ARNs, e.g. ["arn:aws:iam::123456789012:role/deployer"]',
    description="The roles that deploy the stack besides the identity running `pulumi up` "
    "(always admitted): each may administer the stack's KMS keys and read and write its "
    "secrets, which deny everyone else but the roles that use them and `break-glass-{suffix}`. "
    "Each must exist (KMS refuses a key policy naming an unknown principal). A new deployer "
    "is added here and deployed by the old one first (docs/security.md, Who may read the "
    "secrets).",
    parse=_role_arns,
)
VPC_CIDR: Setting[ipaddress.IPv4Network] = Setting(
    key="payments:vpcCidr",
    type="string",
    default=ipaddress.IPv4Network("10.0.0.0/16"),
    rule=f"an RFC 1918 IPv4 network from /{MIN_VPC_PREFIX} to /{MAX_VPC_PREFIX}",
    description="VPC address range. Private subnets get a quarter each, public subnets "
    "a sixteenth each.",
    parse=_vpc_cidr,
    creation_only=CreationOnly(
        "it is the `cidr_block` of the VPC and of every subnet, which cannot change in place: "
        "a new VPC and subnets, while AWS will not move the running database's subnet group "
        "and security group into them"
    ),
)
AVAILABILITY_ZONES: Setting[tuple[str, ...] | None] = Setting(
    key="payments:availabilityZones",
    type=f"list of {AZ_COUNT} strings",
    default=None,  # look the zones up (provider.resolve_zones)
    shown_default=f"first {AZ_COUNT} available zones of the region by name (opt-in not "
    "required), leaving out the zone IDs known to lack what the stack needs (use1-az3)",
    rule=f"exactly {AZ_COUNT} distinct zone names of {REQUIRED_REGION}, e.g. us-east-1a",
    description="Pin the zones, e.g. to avoid a zone that lacks capacity for the "
    "instance types you need, or to keep the zones a stack was built in. Otherwise the stack "
    "looks them up by zone ID (provider.LIMITED_ZONE_IDS says which it leaves out and why).",
    parse=_zones,
    creation_only=CreationOnly(
        "its zones' IDs are the `availability_zone_id` of every subnet and its names the "
        "`availability_zone` of the Aurora writer and reader, "
        "which cannot change in place: other zones replace both instances and the subnets the "
        "database uses; unset, the zones the look-up chooses must stay those the stack was "
        "built in (the `availability_zones` output)"
    ),
)
VPC_ENDPOINTS: Setting[bool] = Setting(
    key="payments:vpcEndpoints",
    type="boolean",
    default=True,
    rule="true or false",
    description="Interface VPC endpoints for what the tasks and functions call (ECR, "
    "CloudWatch Logs, Secrets Manager), so the tasks' security group sends only "
    "to the endpoints, the S3 prefix list, the database and payments:egressAllowList. "
    "false saves their hourly price (docs/cost.md) and lets the tasks out to any HTTPS "
    "address through the NAT gateways.",
    parse=true_or_false,
)
EGRESS_ALLOW_LIST: Setting[tuple[tuple[ipaddress.IPv4Network, int], ...]] = Setting(
    key="payments:egressAllowList",
    type="JSON list",
    default=(),
    shown_default="[] (none)",
    rule='a JSON list of "<public IPv4 CIDR, /24 or narrower>[:<port>,...]" (port 443 when '
    'none is named), e.g. ["52.94.10.0/24", "54.187.174.169/32:8443"]',
    description="Internet destinations the API really needs (its payment processor), "
    "reached through the NAT gateways, each on its own ports only; with "
    "payments:vpcEndpoints the tasks may send nowhere else outside the VPC (PCI DSS 1.3.2). "
    "A wider range is listed as several /24s.",
    parse=_egress_destinations,
)
DNS_ALLOW_LIST: Setting[tuple[str, ...]] = Setting(
    key="payments:dnsAllowList",
    type="JSON list",
    default=(),
    shown_default="[] (none)",
    rule="a JSON list of domain names, a wildcard only as the whole leftmost label and "
    'followed by two labels or more, e.g. ["api.processor.example", "*.processor.example"]',
    description="Names outside AWS the tasks and functions in the VPC may resolve (the payment "
    "processor behind payments:egressAllowList): the VPC's DNS Firewall answers NXDOMAIN to "
    "every name but these and the AWS names the stack needs (docs/security.md).",
    parse=_dns_domains,
)
ACCOUNT_CONTROLS: Setting[bool] = Setting(
    key="payments:accountControls",
    type="boolean",
    default=False,
    rule="true or false",
    description="Create the account-wide controls the compliance map leans on: CloudTrail, "
    "GuardDuty, Security Hub with the PCI DSS standard, AWS Config. One per account, often "
    "run by the organisation already: off by default, and refused when the account has one "
    "(docs/security.md).",
    parse=true_or_false,
)
# GuardDuty's scale (user guide, "Severity levels of GuardDuty findings"): Low 1.0-3.9, Medium
# 4.0-6.9, High 7.0-8.9, Critical 9.0-10.0 (attack sequences). 9 sends the critical ones only.
FINDINGS_MIN_SEVERITY: Setting[float] = Setting(
    key="payments:findingsMinSeverity",
    type="number",
    default=7.0,
    shown_default="7.0 (High)",
    rule="a number from 1 to 9",
    description="With payments:accountControls, the GuardDuty findings of this severity or "
    "above are sent to the alerts topic, as are Security Hub's new failed controls of critical "
    "or high severity (docs/security.md). GuardDuty's scale: Low 1.0-3.9, Medium 4.0-6.9, "
    "High 7.0-8.9, Critical 9.0-10.0.",
    parse=number(lambda severity: 1 <= severity <= 9),
)

# -- every setting, in the order of the docs ---------------------------------------------------

SETTINGS: tuple[Setting[Any], ...] = (
    ENVIRONMENT_SUFFIX,
    ENVIRONMENT,
    REGION,
    ACCOUNT_ID,
    DEPLOYER_ROLE_ARNS,
    VPC_CIDR,
    AVAILABILITY_ZONES,
    DB_ENGINE_VERSION,
    DB_MIN_CAPACITY,
    DB_MAX_CAPACITY,
    DB_BACKUP_RETENTION_DAYS,
    DB_ROTATION_DAYS,
    PROTECT_DATA,
    DOMAIN_NAME,
    HOSTED_ZONE_ID,
    CERTIFICATE_ARN,
    CLOUDFRONT_CERTIFICATE_ARN,
    SITE_DOMAIN_NAME,
    API_DOMAIN_NAME,
    API_IMAGE,
    API_IMAGE_TAG,
    API_CPU,
    API_MEMORY,
    API_CPU_ARCHITECTURE,
    ALB_TLS_POLICY,
    ALB_INGRESS,
    ECR_KEEP_IMAGES,
    WEB_DIST_DIR,
    PRICE_CLASS,
    WAF_RATE_LIMIT,
    ORIGIN_HEADER_ROTATION_DAYS,
    ALERT_EMAILS,
    ALB_ACCESS_LOG_DELIVERY,
    LOG_ARCHIVE,
    VPC_ENDPOINTS,
    EGRESS_ALLOW_LIST,
    DNS_ALLOW_LIST,
    ACCOUNT_CONTROLS,
    FINDINGS_MIN_SEVERITY,
)
