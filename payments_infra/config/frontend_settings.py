"""The settings of the frontend tier (``StackConfig.frontend``), declared once each: the web app
it uploads, CloudFront's edge locations and the WAF rate limit (settings.py says how a
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
    "while (rate-based rule), in CloudFront's web ACL and in the ALB's.",
    parse=whole_number(lambda limit: 100 <= limit <= 2_000_000),
)
