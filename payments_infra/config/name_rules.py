"""AWS's naming rules, one per kind of resource, as each service's API reference states them.

naming.py gives every physical name of the platform one of these rules.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass(frozen=True, kw_only=True)
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
    kind="ALB",
    max_length=32,
    pattern=r"[A-Za-z0-9-]+",
    extra=(
        (lambda n: n.startswith("-") or n.endswith("-"), "not begin or end with a hyphen"),
        (lambda n: n.startswith("internal-"), 'not begin with "internal-"'),
    ),
)
TARGET_GROUP = NameRule(
    kind="target group",
    max_length=32,
    pattern=r"[A-Za-z0-9-]+",
    extra=((lambda n: n.startswith("-") or n.endswith("-"), "not begin or end with a hyphen"),),
)
# RDS forbids a trailing hyphen and two hyphens in a row in every name it takes.
_RDS_HYPHEN_RULES: tuple[tuple[Callable[[str], bool], str], ...] = (
    (lambda n: n.endswith("-"), "not end with a hyphen"),
    (lambda n: "--" in n, "not contain two consecutive hyphens"),
)
RDS_IDENTIFIER = NameRule(
    kind="RDS identifier", max_length=63, pattern=r"[A-Za-z][A-Za-z0-9-]*", extra=_RDS_HYPHEN_RULES
)
RDS_GROUP = NameRule(
    kind="RDS subnet/parameter group",
    max_length=255,
    pattern=r"[a-z][a-z0-9-]*",
    extra=_RDS_HYPHEN_RULES,
)
S3_BUCKET = NameRule(
    kind="S3 bucket",
    max_length=63,
    pattern=r"[a-z0-9][a-z0-9.-]*[a-z0-9]",
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
IAM_ROLE = NameRule(kind="IAM role", max_length=64, pattern=r"[\w+=,.@-]+")
IAM_POLICY = NameRule(kind="IAM policy", max_length=128, pattern=r"[\w+=,.@-]+")
LOG_GROUP = NameRule(
    kind="CloudWatch log group",
    max_length=512,
    pattern=r"[A-Za-z0-9._/#-]+",
    extra=((lambda n: n.startswith("aws/"), 'not begin with "aws/" (reserved by AWS)'),),
)
SNS_TOPIC = NameRule(kind="SNS topic", max_length=256, pattern=r"[A-Za-z0-9_-]+")
SECRET = NameRule(kind="Secrets Manager secret", max_length=512, pattern=r"[A-Za-z0-9/_+=.@-]+")
ECR_REPOSITORY = NameRule(
    kind="ECR repository",
    max_length=256,
    pattern=r"(?:[a-z0-9]+(?:[._-][a-z0-9]+)*/)*[a-z0-9]+(?:[._-][a-z0-9]+)*",
    min_length=2,
)
ECS_NAME = NameRule(kind="ECS cluster/service/family", max_length=255, pattern=r"[A-Za-z0-9_-]+")
LAMBDA_FUNCTION = NameRule(kind="Lambda function", max_length=64, pattern=r"[A-Za-z0-9_-]+")
KMS_ALIAS = NameRule(
    kind="KMS alias",
    max_length=256,
    pattern=r"alias/[A-Za-z0-9/_-]+",
    extra=((lambda n: n.startswith("alias/aws/"), 'not begin with "alias/aws/"'),),
)
SECURITY_GROUP = NameRule(
    kind="security group",
    max_length=255,
    pattern=r"[A-Za-z0-9 ._:/()#,@\[\]+=&;{}!$*-]+",
    extra=((lambda n: n.lower().startswith("sg-"), 'not begin with "sg-"'),),
)
DASHBOARD = NameRule(kind="CloudWatch dashboard", max_length=255, pattern=r"[A-Za-z0-9_-]+")
WAF_NAME = NameRule(kind="WAF web ACL", max_length=128, pattern=r"[\w-]+")
TAG_VALUE = NameRule(kind="Name tag", max_length=256, pattern=r"[\w .:/=+@-]*")
# CloudFront functions (64), origin access controls (64) and policies (128): the tightest.
CLOUDFRONT_NAME = NameRule(
    kind="CloudFront function/OAC/policy", max_length=64, pattern=r"[A-Za-z0-9_-]+"
)
LOG_DELIVERY = NameRule(
    kind="CloudWatch log delivery source/destination", max_length=60, pattern=r"[\w-]+"
)
FIREHOSE_STREAM = NameRule(kind="Firehose stream", max_length=64, pattern=r"[A-Za-z0-9_.-]+")
SQS_QUEUE = NameRule(kind="SQS queue", max_length=80, pattern=r"[A-Za-z0-9_-]+")
ALARM = NameRule(kind="CloudWatch alarm", max_length=255, pattern=r"[^\x00-\x1f]+")
SCALING_POLICY = NameRule(kind="scaling policy", max_length=256, pattern=r"[A-Za-z0-9._/-]+")
# CreateTrail: 3 to 128 letters, digits, periods, underscores and hyphens, starting with a
# letter or digit. PutConfigurationRecorder, PutDeliveryChannel: 1 to 256 characters.
CLOUDTRAIL_TRAIL = NameRule(
    kind="CloudTrail trail", max_length=128, pattern=r"[A-Za-z0-9][A-Za-z0-9._-]*", min_length=3
)
CONFIG_NAME = NameRule(
    kind="AWS Config recorder/delivery channel", max_length=256, pattern=r"[\w.-]+"
)
# PutRule: 1 to 64 letters, digits, periods, hyphens and underscores.
EVENT_RULE = NameRule(kind="EventBridge rule", max_length=64, pattern=r"[A-Za-z0-9._-]+")
# Route 53 Resolver's names (CreateFirewallDomainList, CreateFirewallRuleGroup,
# CreateFirewallRule, AssociateFirewallRuleGroup, CreateResolverQueryLogConfig): at most 64
# letters, digits, hyphens, underscores, apostrophes and spaces, not digits only.
RESOLVER_NAME = NameRule(
    kind="Route 53 Resolver",
    max_length=64,
    pattern=r"[A-Za-z0-9_' -]+",
    extra=((str.isdigit, "not be digits only"),),
)
# PutMetricFilter: 1 to 512 characters, no colon or asterisk.
METRIC_FILTER = NameRule(kind="CloudWatch metric filter", max_length=512, pattern=r"[^:*]+")

# UpdateFirewallDomains (botocore's route53resolver model, FirewallDomainName and the
# Domains member's documentation): 1 to 255 characters, A-Z, a-z, 0-9 and hyphens between the
# dots, optionally starting with an asterisk. DNS itself (RFC 1035) caps a label at 63.
_DOMAIN_LABEL = re.compile(r"[A-Za-z0-9-]{1,63}")
FIREWALL_DOMAIN_MAX_LENGTH = 255


def firewall_domain_problems(domain: str) -> list[str]:
    """Every way ``domain`` breaks DNS Firewall's rule for a domain-list entry: the characters
    and length AWS accepts, the wildcard only as the whole leftmost label (``*.example.com``)."""
    found = []
    if not 1 <= len(domain) <= FIREWALL_DOMAIN_MAX_LENGTH:
        found.append(f"be 1 to {FIREWALL_DOMAIN_MAX_LENGTH} characters ({len(domain)})")
    labels = domain.split(".")
    rest = labels[1:] if labels[0] == "*" else labels
    if "*" in "".join(rest) or (labels[0] != "*" and "*" in labels[0]):
        found.append('have a wildcard only as the whole leftmost label, as in "*.example.com"')
    elif not all(_DOMAIN_LABEL.fullmatch(label) for label in rest):
        found.append(
            "hold only letters, digits and hyphens between single dots, each label 1 to 63 "
            "characters, with no dot at either end"
        )
    return found
