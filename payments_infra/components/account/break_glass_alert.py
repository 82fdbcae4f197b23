"""The break-glass role's use, to on-call: each session of ``break-glass-{suffix}`` (access.py).

Made by AccountControls, so only with ``payments:accountControls``: its trail records the
account's management events, read ones included, and CloudTrail's events reach EventBridge.
One rule on the default bus, ``break-glass-used-{suffix}``, matching CloudTrail's record of
``sts:AssumeRole`` naming that role (``requestParameters.roleArn``), sends the alerts topic one
line: who assumed it (``userIdentity.arn``), from where, when. Nothing else of the event (not
its ``responseElements``, the session's access key ID).

- AssumeRole is a read-only management event (CloudTrail's ``readOnly``); a rule in EventBridge's
  default state (``ENABLED``) never sees read-only management events. The rule is
  ``ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS`` (EventBridge user guide, "Receiving read-only
  management events from AWS services", whose example is this very event).
- The rule sees what CloudTrail records in us-east-1 only. STS records a call in the Region that
  served it: us-east-1 for its us-east-1 endpoint, another Region for that Region's endpoint,
  and the global endpoint's calls in the Region AWS serves them from (docs/security.md, "Who may
  read the secrets and manage the keys"). A session started elsewhere sends nothing; the trail,
  in every Region, still records it.

The topic's policy admits this rule like the findings rules (findings.FINDINGS_RULES), and its
FailedInvocations has an alarm (findings.findings_alarms). Checked in
tests/unit/test_break_glass_alert.py against a CloudTrail AssumeRole event of the role.
"""

from __future__ import annotations

import json
from typing import Any

import pulumi
import pulumi_aws as aws

from payments_infra.components.account.findings import Message, route_to_alerts
from payments_infra.config.naming import Names, physical_name

# EventBridge's state for a rule that must see read-only management events (AssumeRole is one).
WITH_READ_ONLY_MANAGEMENT_EVENTS = "ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS"


def break_glass_pattern(role_arn: str) -> dict[str, Any]:
    """CloudTrail's record of an AssumeRole call naming ``role_arn``, as EventBridge receives it
    (its ``detail`` is the CloudTrail record)."""
    return {
        "source": ["aws.sts"],
        "detail-type": ["AWS API Call via CloudTrail"],
        "detail": {
            "eventSource": ["sts.amazonaws.com"],
            "eventName": ["AssumeRole"],
            "requestParameters": {"roleArn": [role_arn]},
        },
    }


BREAK_GLASS_MESSAGE = Message(
    paths={
        "role": "$.detail.requestParameters.roleArn",
        "who": "$.detail.userIdentity.arn",
        "ip": "$.detail.sourceIPAddress",
        "time": "$.detail.eventTime",
        "region": "$.detail.awsRegion",
        "account": "$.account",
    },
    lines=(
        "Break-glass role assumed: <role>",
        "By <who>, from <ip>, at <time> (UTC)",
        "Account <account>, Region <region>",
        "Expected only in an emergency: confirm with whoever assumed it, then read what the "
        "session did in CloudTrail.",
    ),
)


def alert_break_glass_use(
    name: str,
    *,
    suffix: str,
    role_arn: pulumi.Input[str],
    alerts_topic_arn: pulumi.Input[str],
    opts: pulumi.ResourceOptions,
) -> aws.cloudwatch.EventRule:
    """The rule and its target, the alerts topic; returns the rule."""
    role = physical_name(Names.break_glass_role, suffix)
    return route_to_alerts(
        f"{name}-break-glass-used",
        physical_name(Names.break_glass_rule, suffix),
        description=f"Every AssumeRole of {role} recorded in us-east-1, to the alerts topic",
        event_pattern=pulumi.Output.from_input(role_arn).apply(
            lambda arn: json.dumps(break_glass_pattern(arn))
        ),
        message=BREAK_GLASS_MESSAGE,
        alerts_topic_arn=alerts_topic_arn,
        opts=opts,
        state=WITH_READ_ONLY_MANAGEMENT_EVENTS,
    )
