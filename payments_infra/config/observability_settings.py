"""The settings of observability (``StackConfig.observability``), declared once each: who gets
the alerts, how the ALB's access logs reach CloudWatch, and the log archive (settings.py says
how a declaration reads, and lists every setting).
"""

from __future__ import annotations

from payments_infra.config.choices import (
    LogArchive,
    LogDelivery,
)
from payments_infra.config.limits import _emails
from payments_infra.config.setting import (
    Setting,
    choice_rule,
    one_of,
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
