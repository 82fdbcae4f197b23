"""The settings of the frontend tier (``StackConfig.frontend``), declared once each: the web app
it uploads, CloudFront's edge locations, the WAF rate limit and how often the origin header
CloudFront proves itself to the ALB with rotates (settings.py says how a
declaration reads, and lists every setting).
"""

from __future__ import annotations

from payments_infra.config.choices import PriceClass
from payments_infra.config.setting import (
    Setting,
    any_text,
    choice_rule,
    one_of,
    whole_number,
    whole_number_from,
)

# AutomaticallyAfterDays, RotateSecret's RotationRules (botocore's secretsmanager model,
# AutomaticallyRotateAfterDaysType: min 1, max 1000).
MAX_SECRET_ROTATION_DAYS = 1000

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
    "while (rate-based rule), in CloudFront's web ACL and in the ALB's.",
    parse=whole_number(lambda limit: 100 <= limit <= 2_000_000),
)
ORIGIN_HEADER_ROTATION_DAYS: Setting[int] = Setting(
    key="payments:originHeaderRotationDays",
    type="integer",
    default=30,
    rule=f"a whole number from 1 to {MAX_SECRET_ROTATION_DAYS}",
    description="Where CloudFront routes `/api` to the ALB (certificate modes 1 and 2), "
    "Secrets Manager rotates the secret origin header every N days with the stack's own "
    "function, which moves the ALB's listener rule, its WAF rule group and CloudFront to the "
    "new value without refusing a request (docs/security.md, CloudFront origin header). "
    "Always on: `make up` then refreshes before it previews and deploys.",
    parse=whole_number_from(1, MAX_SECRET_ROTATION_DAYS),
)
