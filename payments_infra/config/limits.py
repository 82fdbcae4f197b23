"""The limits and parsers the setting declarations (settings.py) are built from.

AWS's and the design's fixed numbers (region, zone count, VPC prefixes, Fargate task sizes,
log retention) and the parsers of the settings that can be wrong in more than one way.
"""

from __future__ import annotations

import ipaddress
import json
import re
from typing import Any

from payments_infra.config.errors import ConfigError
from payments_infra.config.name_rules import firewall_domain_problems
from payments_infra.config.naming import suffix_problems
from payments_infra.config.setting import (
    Parse,
    Parsed,
    Setting,
    number,
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


def _matching_strings(
    setting: Setting[tuple[str, ...]], text: str, pattern: str, what: str
) -> Parsed[tuple[str, ...]]:
    """A JSON list of strings, each matching ``pattern`` (``what`` names them in the error);
    each kept once, in order."""
    try:
        items = json.loads(text)
    except json.JSONDecodeError:
        items = None
    if not isinstance(items, list) or not all(isinstance(item, str) for item in items):
        return setting.default, [setting.broken(text)]
    bad = [item for item in items if not re.fullmatch(pattern, item)]
    if bad:
        return tuple(items), [f"{setting.key} must hold {what} only; got {bad}"]
    return tuple(dict.fromkeys(items)), []


def _emails(setting: Setting[tuple[str, ...]], text: str) -> Parsed[tuple[str, ...]]:
    return _matching_strings(setting, text, EMAIL, "e-mail addresses")


# An IAM role's ARN in any account (a path allowed): what a deployer is named by.
ROLE_ARN = r"arn:aws:iam::[0-9]{12}:role/(?:[\w+=,.@-]+/)*[\w+=,.@-]{1,64}"


def _role_arns(setting: Setting[tuple[str, ...]], text: str) -> Parsed[tuple[str, ...]]:
    """A JSON list of IAM role ARNs (deployerRoleArns)."""
    return _matching_strings(setting, text, ROLE_ARN, "IAM role ARNs")


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


def validate_suffix(suffix: str) -> str:
    """Return ``suffix`` unchanged, or raise ``ConfigError`` listing every rule it breaks."""
    problems = suffix_problems(suffix)
    if problems:
        raise ConfigError(problems)
    return suffix


# The widest allow-list entry: a /24 (256 addresses). It is the longest prefix the Internet's
# routing table carries (operators filter announcements longer than /24), so any destination a
# processor publishes, down to one address, can be listed as /24s or narrower; a wider block is
# a share of a cloud Region or a CDN that other tenants also answer from, a way out for data
# rather than a destination.
MIN_EGRESS_PREFIX = 24
# DNS (53) and DNS over TLS (853): a resolver outside the VPC would answer what the VPC's DNS
# Firewall refuses (components/network/dns_firewall.py), so no allow-list entry may reach one.
DNS_PORTS = (53, 853)
# A port only when the entry names none: what a payment processor's API listens on.
DEFAULT_EGRESS_PORT = 443
EGRESS_DESTINATION = re.compile(r"(?P<cidr>[0-9./]+)(?::(?P<ports>[0-9]{1,5}(?:,[0-9]{1,5})*))?")
EGRESS_FORMAT = '"<IPv4 CIDR>" (port 443) or "<IPv4 CIDR>:<port>[,<port>...]"'


def _egress_entry(
    key: str, entry: str
) -> tuple[list[tuple[ipaddress.IPv4Network, int]], str | None]:
    """One allow-list entry as (network, port) pairs, or the rule it breaks."""
    match = EGRESS_DESTINATION.fullmatch(entry)
    try:
        network = ipaddress.IPv4Network(match["cidr"]) if match else None
    except ValueError:
        network = None
    ports = [int(p) for p in match["ports"].split(",")] if match and match["ports"] else []
    if match and not match["ports"]:
        ports = [DEFAULT_EGRESS_PORT]
    if network is None or not ports or not all(1 <= port <= 65535 for port in ports):
        return (
            [],
            f'{key} entries must be {EGRESS_FORMAT} such as "52.94.10.0/24:443"; got "{entry}"',
        )
    if not network.is_global:
        return [], (
            f"{key} entries must be public internet addresses (the VPC's own destinations are "
            f'allowed already); got "{entry}"'
        )
    if any(port in DNS_PORTS for port in ports):
        return [], (
            f"{key} entries must not be DNS ports {' or '.join(map(str, DNS_PORTS))} (a "
            "resolver outside the VPC would go round its DNS Firewall; add the names to "
            f'payments:dnsAllowList instead); got "{entry}"'
        )
    if network.prefixlen < MIN_EGRESS_PREFIX:
        return [], (
            f"{key} entries must be /{MIN_EGRESS_PREFIX} or narrower (at most 256 addresses: "
            f'list a wider range as several /{MIN_EGRESS_PREFIX}s); got "{entry}"'
        )
    return [(network, port) for port in dict.fromkeys(ports)], None


def _egress_destinations(
    setting: Setting[tuple[tuple[ipaddress.IPv4Network, int], ...]], text: str
) -> Parsed[tuple[tuple[ipaddress.IPv4Network, int], ...]]:
    """A JSON list of "<public IPv4 CIDR>[:<port>,...]" strings, e.g. ["52.94.10.0/24:443"]:
    each entry as one (network, port) pair per port, 443 when it names none."""
    try:
        entries = json.loads(text)
    except json.JSONDecodeError:
        entries = None
    if not isinstance(entries, list) or not all(isinstance(e, str) for e in entries):
        return setting.default, [setting.broken(text)]
    destinations: list[tuple[ipaddress.IPv4Network, int]] = []
    problems = []
    for entry in entries:
        pairs, problem = _egress_entry(setting.key, entry)
        destinations += pairs
        if problem:
            problems.append(problem)
    return tuple(destinations), problems


def _dns_domains(setting: Setting[tuple[str, ...]], text: str) -> Parsed[tuple[str, ...]]:
    """A JSON list of domain names for the DNS Firewall's allow-list, e.g.
    ["api.processor.example", "*.processor.example"]."""
    try:
        entries = json.loads(text)
    except json.JSONDecodeError:
        entries = None
    if not isinstance(entries, list) or not all(isinstance(e, str) for e in entries):
        return setting.default, [setting.broken(text)]
    problems = [
        f'{setting.key} entries must {rule}; got "{entry}"'
        for entry in entries
        for rule in firewall_domain_problems(entry)
    ]
    # A wildcard over a top-level domain (or everything) would reopen the way out it closes.
    problems += [
        f"{setting.key} entries must keep at least two labels after a wildcard "
        f'("*.processor.example", not "*.example" or "*"); got "{entry}"'
        for entry in entries
        if entry.split(".")[0] == "*" and entry.count(".") < 2
    ]
    return tuple(dict.fromkeys(e.lower() for e in entries)), problems
