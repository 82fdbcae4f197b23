"""Findings to on-call: GuardDuty's and Security Hub's serious findings, sent to the alerts topic.

Made by AccountControls (account_controls.py), so only with ``payments:accountControls``: two
EventBridge rules on the account's default event bus, each with one target, the alerts topic
``alerts-{suffix}``, through an input transformer that writes one line of a few parts (what, how
severe, which account, Region and resource, where to look), never the raw finding.

- ``guardduty-findings-{suffix}``: GuardDuty findings of ``payments:findingsMinSeverity``
  (default 7.0, High) or above. GuardDuty sends a new finding within 5 minutes, and its later
  occurrences every 15 minutes (account_controls.GUARDDUTY_FINDINGS_EVERY).
- ``securityhub-findings-{suffix}``: Security Hub's own control findings that are active,
  failed, new (nobody has looked at them yet) and critical or high. Its own only
  (``ProductArn`` ``.../product/aws/securityhub``): GuardDuty's findings reach Security Hub
  too, and would alert a second time, without the GuardDuty rule's threshold; the other
  integrations' findings are not failed controls. A finding stays new and failed at every
  check until someone acts, and each check sends it again: setting its workflow status to
  NOTIFIED (or resolving or suppressing it) is how on-call acknowledges it.

Each rule has an alarm on its ``FailedInvocations`` (``findings_alarms``, made by Observability
with the others): a topic policy or key grant that refuses EventBridge loses every finding
silently otherwise. The messages are plain text on one line, so a finding's own text (a title
with a quote, a backslash or a line break) cannot break them (``Message``).

The alerts topic's policy (observability.py) lets exactly these rules publish, each named by
the ARN ``findings_rule_arns`` gives; the logs key's (aws/keys.py) lets EventBridge encrypt the
alerts topic's messages, and no other's (``findings_topic_arn``). Both are known from the names
alone, so the key, made before every tier, can name them. The patterns are checked against
AWS's sample events in tests/unit/test_findings_routing.py.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from payments_infra.aws.monitoring import AlarmSpec
from payments_infra.aws.tagging import name_tag
from payments_infra.config import REQUIRED_REGION, StackConfig
from payments_infra.config.naming import Names, PhysicalName, physical_name

# The product ARN of Security Hub's own (control) findings in the stack's Region (ASFF
# ProductArn; Security Hub user guide, "Samples of control findings").
SECURITY_HUB_PRODUCT_ARN = f"arn:aws:securityhub:{REQUIRED_REGION}::product/aws/securityhub"
SECURITY_HUB_SEVERITIES = ["CRITICAL", "HIGH"]
# Each rule has one target, the alerts topic.
TARGET_ID = "alerts-topic"


def event_rule_arn(account_id: str, rule_name: str) -> str:
    """The ARN of a rule of the account's default event bus (what ``aws:SourceArn`` is when it
    publishes)."""
    return f"arn:aws:events:{REQUIRED_REGION}:{account_id}:rule/{rule_name}"


FINDINGS_RULES: tuple[PhysicalName, ...] = (
    Names.guardduty_findings_rule,
    Names.security_hub_findings_rule,
    Names.break_glass_rule,  # break_glass_alert.py
)


def findings_rule_arns(
    account_id: pulumi.Input[str], config: StackConfig
) -> pulumi.Input[Sequence[str]]:
    """The ARNs of the rules below, before they exist (the alerts topic's policy names them):
    none without ``payments:accountControls``."""
    if not config.account_controls:
        return []
    names = [physical_name(rule, config.environment_suffix) for rule in FINDINGS_RULES]
    return pulumi.Output.from_input(account_id).apply(
        lambda account: [event_rule_arn(account, name) for name in names]
    )


def findings_topic_arn(
    account_id: pulumi.Input[str], config: StackConfig
) -> pulumi.Input[str] | None:
    """The ARN of the alerts topic the rules send to, before it exists (the logs key names it):
    None without ``payments:accountControls``."""
    if not config.account_controls:
        return None
    topic = physical_name(Names.alerts_topic, config.environment_suffix)
    return pulumi.Output.from_input(account_id).apply(
        lambda account: f"arn:aws:sns:{REQUIRED_REGION}:{account}:{topic}"
    )


def guardduty_pattern(min_severity: float) -> dict[str, Any]:
    """Every GuardDuty finding of ``min_severity`` or above (its ``detail`` is the finding)."""
    return {
        "source": ["aws.guardduty"],
        "detail-type": ["GuardDuty Finding"],
        "detail": {"severity": [{"numeric": [">=", min_severity]}]},
    }


# Each event holds one finding (Security Hub user guide, "EventBridge event formats").
SECURITY_HUB_PATTERN: dict[str, Any] = {
    "source": ["aws.securityhub"],
    "detail-type": ["Security Hub Findings - Imported"],
    "detail": {
        "findings": {
            "ProductArn": [SECURITY_HUB_PRODUCT_ARN],
            "Compliance": {"Status": ["FAILED"]},
            "Severity": {"Label": SECURITY_HUB_SEVERITIES},
            "Workflow": {"Status": ["NEW"]},
            "RecordState": ["ACTIVE"],
        }
    },
}


# Between the parts of a message: one line, as the template must be (``Message.template``).
SEPARATOR = " | "


@dataclass(frozen=True)
class Message:
    """What an input transformer sends: values taken from the event by JSON path, and the
    parts they fill (``<name>``)."""

    paths: Mapping[str, str]
    lines: tuple[str, ...]

    @property
    def template(self) -> str:
        """The parts as one line of plain text, neither JSON nor quoted strings.

        EventBridge does not escape the values it takes by input path when it fills a template
        (EventBridge user guide, "Amazon EventBridge input transformation", Common issues). In
        the quoted-lines form (one JSON string a line, GuardDuty user guide's SNS example) a
        finding's title with a ``"`` or ``\\`` ends or breaks its string, and the message is
        lost or mangled; findings carry text an attacker chooses (a queried domain name). Plain
        text has no syntax a value can break: it is sent as filled. One line, because only the
        quoted form gives a text template several lines."""
        template = SEPARATOR.join(self.lines)
        if '"' in template or "\n" in template:
            raise ValueError(f"a findings message is one line of plain text; got {template!r}")
        return template


GUARDDUTY_MESSAGE = Message(
    paths={
        "severity": "$.detail.severity",
        "title": "$.detail.title",
        "type": "$.detail.type",
        "account": "$.account",
        "region": "$.region",
        "resource": "$.detail.resource.resourceType",
        "id": "$.detail.id",
    },
    lines=(
        "GuardDuty finding, severity <severity>: <title>",
        "Type: <type>",
        "Account <account>, Region <region>, resource: <resource>",
        # The finding in the console, as GuardDuty links it (its findings' SourceUrl).
        "https://<region>.console.aws.amazon.com/guardduty/home?region=<region>"
        "#/findings?macros=current&fId=<id>",
    ),
)
SECURITY_HUB_MESSAGE = Message(
    paths={
        "severity": "$.detail.findings[0].Severity.Label",
        "title": "$.detail.findings[0].Title",
        "control": "$.detail.findings[0].Compliance.SecurityControlId",
        "account": "$.account",
        "region": "$.region",
        "resource": "$.detail.findings[0].Resources[0].Id",
        "remediation": "$.detail.findings[0].Remediation.Recommendation.Url",
    },
    lines=(
        "Security Hub, <severity>: control <control> failed: <title>",
        "Account <account>, Region <region>, resource: <resource>",
        "How to fix it: <remediation>",
        "https://console.aws.amazon.com/securityhub/home?region=<region>#/controls/<control>",
        "Set the finding's workflow status to NOTIFIED once handled, or each check resends it.",
    ),
)


def findings_alarms(config: StackConfig) -> list[AlarmSpec]:
    """An alarm on each rule's ``FailedInvocations`` (AWS/Events, by ``RuleName``: EventBridge
    user guide, "Monitoring Amazon EventBridge"): deliveries to the alerts topic that failed
    for good, after EventBridge's retries. None without ``payments:accountControls``."""
    if not config.account_controls:
        return []
    suffix = config.environment_suffix
    # What is lost, the rule, its alarm, and where to read what the topic did not get.
    watched = (
        (
            "GuardDuty findings",
            Names.guardduty_findings_rule,
            Names.alarm_guardduty_findings_failed,
            "Read the GuardDuty findings in its console (they are not in the topic)",
        ),
        (
            "Security Hub findings",
            Names.security_hub_findings_rule,
            Names.alarm_securityhub_findings_failed,
            "Read the Security Hub findings in its console (they are not in the topic)",
        ),
        (
            "Alerts of the break-glass role's use",
            Names.break_glass_rule,
            Names.alarm_break_glass_alert_failed,
            f"Look up AssumeRole of {physical_name(Names.break_glass_role, suffix)} in "
            "CloudTrail's event history, us-east-1 (the uses are not in the topic)",
        ),
    )
    return [
        AlarmSpec(
            name=physical_name(alarm, suffix),
            namespace="AWS/Events",
            metric="FailedInvocations",
            dimensions={"RuleName": physical_name(rule, suffix)},
            comparison="GreaterThanThreshold",
            threshold=0,
            period=300,
            evaluation_periods=1,
            why=f"{what} are not reaching the alerts topic: EventBridge could not deliver them.",
            runbook=f"The rule {physical_name(rule, suffix)}'s FailedInvocations, and the topic's "
            "policy and the logs key's grant to EventBridge (findings.py).",
            action=f"{look}, then restore what refuses EventBridge: run make up to put back the "
            "topic policy and the key policy.",
        )
        for what, rule, alarm, look in watched
    ]


def route_findings(
    name: str,
    *,
    suffix: str,
    alerts_topic_arn: pulumi.Input[str],
    min_severity: float,
    opts: pulumi.ResourceOptions,
) -> list[aws.cloudwatch.EventRule]:
    """The two rules, each with the alerts topic as its target; returns the rules."""
    routes = (
        (
            "guardduty",
            Names.guardduty_findings_rule,
            f"GuardDuty findings of severity {min_severity:g} or above, to the alerts topic",
            guardduty_pattern(min_severity),
            GUARDDUTY_MESSAGE,
        ),
        (
            "security-hub",
            Names.security_hub_findings_rule,
            "Security Hub's new failed controls, critical or high, to the alerts topic",
            SECURITY_HUB_PATTERN,
            SECURITY_HUB_MESSAGE,
        ),
    )
    return [
        route_to_alerts(
            f"{name}-{key}-findings",
            physical_name(entry, suffix),
            description=description,
            event_pattern=json.dumps(pattern),
            message=message,
            alerts_topic_arn=alerts_topic_arn,
            opts=opts,
        )
        for key, entry, description, pattern, message in routes
    ]


def route_to_alerts(
    resource_name: str,
    rule_name: str,
    *,
    description: str,
    event_pattern: pulumi.Input[str],
    message: Message,
    alerts_topic_arn: pulumi.Input[str],
    opts: pulumi.ResourceOptions,
    state: str | None = None,
) -> aws.cloudwatch.EventRule:
    """A rule of the default bus and its one target, the alerts topic, which it sends
    ``message``; ``state`` when it must differ from EventBridge's default (``ENABLED``)."""
    rule = aws.cloudwatch.EventRule(
        resource_name,
        aws.cloudwatch.EventRuleArgs(
            name=rule_name,
            description=description,
            event_pattern=event_pattern,
            state=state,
            tags=name_tag(rule_name),
        ),
        opts=opts,
    )
    aws.cloudwatch.EventTarget(
        f"{resource_name}-to-alerts",
        aws.cloudwatch.EventTargetArgs(
            rule=rule.name,
            target_id=TARGET_ID,
            arn=alerts_topic_arn,
            input_transformer=aws.cloudwatch.EventTargetInputTransformerArgs(
                input_paths=dict(message.paths), input_template=message.template
            ),
        ),
        opts=opts,
    )
    return rule
