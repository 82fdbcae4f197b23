"""The settings of the certificate modes (``StackConfig.certificates``), declared once each:
mode 1's name and hosted zone, mode 2's certificates and names. With none of them set the stack
runs mode 3, a self-signed demo (settings.py says how a declaration reads, and lists every
setting).
"""

from __future__ import annotations

from payments_infra.config.limits import (
    ACM_ARN,
    DNS_NAME,
    _optional,
)
from payments_infra.config.setting import (
    Setting,
    text_matching,
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
