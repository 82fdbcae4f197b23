"""Findings to on-call (components/account/findings.py), read from the recorded graph: the two
EventBridge rules, their targets and messages, the alerts topic's policy and the logs key's.

Each rule's pattern, as the graph holds it, is run (tests/event_patterns.py) against AWS's
sample events, tests/fixtures/findings/ (its README says where each comes from: the GuardDuty
user guide, https://docs.aws.amazon.com/guardduty/latest/ug/guardduty_findings_eventbridge.html,
and the Security Hub user guide,
https://docs.aws.amazon.com/securityhub/latest/userguide/securityhub-cwe-event-formats.html and
https://docs.aws.amazon.com/securityhub/latest/userguide/sample-control-findings.html), and
against the cases derived from them that must not match.
"""

from __future__ import annotations

import copy
import json
import re
from typing import Any

import pytest

from payments_infra import REPO_ROOT
from payments_infra.components.account.findings import GUARDDUTY_MESSAGE, SEPARATOR, Message
from payments_infra.config import StackConfig
from payments_infra.config.errors import ConfigError
from payments_infra.offline.graph import Graph, Resource
from payments_infra.offline.mocks import record_program
from tests.event_patterns import matches
from tests.graph_queries import named, only
from tests.stacks import SUFFIX, VALID_CONFIG

ACCOUNT = "123456789012"
RULE = "aws:cloudwatch/eventRule:EventRule"
TARGET = "aws:cloudwatch/eventTarget:EventTarget"
TOPIC_POLICY = "aws:sns/topicPolicy:TopicPolicy"
ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
GUARDDUTY_RULE = f"guardduty-findings-{SUFFIX}"
SECURITY_HUB_RULE = f"securityhub-findings-{SUFFIX}"
# And the break-glass role's use (test_break_glass_alert.py).
BREAK_GLASS_RULE = f"break-glass-used-{SUFFIX}"
RULE_ARNS = [
    f"arn:aws:events:us-east-1:{ACCOUNT}:rule/{n}"
    for n in (GUARDDUTY_RULE, SECURITY_HUB_RULE, BREAK_GLASS_RULE)
]
SAMPLES = REPO_ROOT / "tests" / "fixtures" / "findings"
ON = {**VALID_CONFIG, "payments:accountControls": "true"}


@pytest.fixture(scope="module")
def controls() -> Graph:
    return record_program(ON, stack="test")


def sample(name: str) -> dict[str, Any]:
    """A sample event, moved to where the rules listen: us-east-1, this account."""
    text = (SAMPLES / f"{name}.json").read_text()
    text = re.sub(r"us-(?:east-2|west-2)", "us-east-1", text)
    text = re.sub(r"\b(?:111122223333|193043430472)\b", ACCOUNT, text)
    event: dict[str, Any] = json.loads(text)
    return event


def with_detail(event: dict[str, Any], **changes: Any) -> dict[str, Any]:
    """A copy of a GuardDuty event with its finding's fields changed."""
    changed = copy.deepcopy(event)
    changed["detail"].update(changes)
    return changed


def with_finding(event: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    """A copy of a Security Hub event with one field of its finding, ``A.B``, set."""
    changed = copy.deepcopy(event)
    *parents, last = path.split(".")
    node = changed["detail"]["findings"][0]
    for part in parents:
        node = node.setdefault(part, {})
    node[last] = value
    return changed


def high(event: dict[str, Any]) -> dict[str, Any]:
    return with_finding(event, "Severity.Label", "HIGH")


def rule(graph: Graph, name: str) -> Resource:
    return named(graph, RULE, name)


def pattern(graph: Graph, name: str) -> dict[str, Any]:
    parsed: dict[str, Any] = json.loads(rule(graph, name).inputs["eventPattern"])
    return parsed


def target_of(graph: Graph, name: str) -> Resource:
    (target,) = [t for t in graph.of_type(TARGET) if t.inputs["rule"] == name]
    return target


def statements(resource: Resource) -> dict[str, dict[str, Any]]:
    return {s["Sid"]: s for s in json.loads(resource.inputs["policy"])["Statement"]}


def logs_key(graph: Graph) -> Resource:
    return next(k for k in graph.of_type("aws:kms/key:Key") if k.name == "logs-key-key")


def value_at(event: Any, path: str) -> Any:
    """An input transformer's JSON path (``$.a.b[0].c``) in the event."""
    for name, index in re.findall(r"\.([\w-]+)(?:\[(\d+)\])?", path):
        event = event[name]
        if index:
            event = event[int(index)]
    return event


def filled(template: str, paths: dict[str, str], event: dict[str, Any]) -> list[str]:
    """What EventBridge sends for ``template``: each value's text in place of ``<name>``,
    unescaped (EventBridge user guide, "Amazon EventBridge input transformation", Common
    issues: it does not escape the values it takes by input path). A template of quoted lines
    is read as one JSON string a line (a line that is not one cannot be sent: ValueError); any
    other is plain text, sent as filled, here split into its parts."""
    text = template
    for key, path in paths.items():
        value = value_at(event, path)
        text = text.replace(f"<{key}>", value if isinstance(value, str) else json.dumps(value))
    if template.startswith('"'):
        return [json.loads(line) for line in text.splitlines()]
    return text.split(SEPARATOR)


def rendered(target: Resource, event: dict[str, Any]) -> list[str]:
    """The parts on-call reads, as the target's transformer fills them."""
    transformer = target.inputs["inputTransformer"]
    return filled(transformer["inputTemplate"], transformer["inputPaths"], event)


# -- only with accountControls ------------------------------------------------------------------


def test_without_account_controls_nothing_routes_findings_and_nothing_may(
    recorded_graph: Graph,
) -> None:
    assert recorded_graph.of_type(RULE) == [] and recorded_graph.of_type(TARGET) == []
    policy = statements(only(recorded_graph, TOPIC_POLICY))
    assert set(policy) == {"DenyInsecureTransport", "AlarmsOfThisAccountPublish"}
    key = statements(logs_key(recorded_graph))
    assert [s for s in key.values() if s["Principal"] == {"Service": "events.amazonaws.com"}] == []


def test_three_rules_each_sending_to_the_alerts_topic_only(controls: Graph) -> None:
    (component,) = controls.of_type("payments:account:AccountControls")
    topic = named(controls, "aws:sns/topic:Topic", f"alerts-{SUFFIX}")
    rules = controls.of_type(RULE)
    made = [GUARDDUTY_RULE, SECURITY_HUB_RULE, BREAK_GLASS_RULE]
    assert sorted(r.inputs["name"] for r in rules) == sorted(made)
    # In no set order: the break-glass rule waits for its role's ARN.
    assert sorted(t.inputs["rule"] for t in controls.of_type(TARGET)) == sorted(made)
    for found in rules:
        assert found.parent == component.urn
        assert found.tags == {"Name": found.inputs["name"]}
        assert "eventBusName" not in found.inputs  # the default bus: where AWS's events arrive
        target = target_of(controls, found.inputs["name"])
        assert target.inputs["arn"] == topic.outputs["arn"]
        assert target.inputs["targetId"] == "alerts-topic"
        assert target.parent == component.urn


# -- the patterns against AWS's samples ---------------------------------------------------------


def test_guardduty_findings_from_high_up_match_and_below_do_not(controls: Graph) -> None:
    guardduty = pattern(controls, GUARDDUTY_RULE)
    assert guardduty == {
        "source": ["aws.guardduty"],
        "detail-type": ["GuardDuty Finding"],
        "detail": {"severity": [{"numeric": [">=", 7.0]}]},
    }
    event = sample("guardduty_finding")
    assert not matches(guardduty, event)  # the sample as AWS shows it: severity 2, Low
    for severity in (7, 7.0, 8, 8.9, 9.0, 10):
        assert matches(guardduty, with_detail(event, severity=severity)), severity
    for severity in (6.9, 4.0, 1):
        assert not matches(guardduty, with_detail(event, severity=severity)), severity
    assert not matches(guardduty, with_detail(event, severity="8"))  # not a number
    other = {
        **with_detail(event, severity=8),
        "detail-type": "GuardDuty Runtime Protection Healthy",
    }
    assert not matches(guardduty, other)
    # GuardDuty's own event only: its findings as Security Hub imports them are not its events.
    assert not matches(guardduty, high(sample("guardduty_finding_in_security_hub")))


def test_the_severity_threshold_is_the_setting() -> None:
    graph = record_program({**ON, "payments:findingsMinSeverity": "4"}, stack="test")
    guardduty = pattern(graph, GUARDDUTY_RULE)
    assert guardduty["detail"] == {"severity": [{"numeric": [">=", 4.0]}]}
    event = sample("guardduty_finding")
    assert matches(guardduty, with_detail(event, severity=5.0))
    assert not matches(guardduty, with_detail(event, severity=3.9))
    assert "severity 4 or above" in rule(graph, GUARDDUTY_RULE).inputs["description"]


@pytest.mark.parametrize(("text", "value"), [("7", 7.0), ("4", 4.0), ("9", 9.0), ("1.5", 1.5)])
def test_the_setting_takes_guardduty_severities(text: str, value: float) -> None:
    raw = {**VALID_CONFIG, "payments:findingsMinSeverity": text}
    assert (
        StackConfig.from_mapping(raw, project="payments", stack="t").findings_min_severity == value
    )
    default = StackConfig.from_mapping(dict(VALID_CONFIG), project="payments", stack="t")
    assert default.findings_min_severity == 7.0


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("0.5", "payments:findingsMinSeverity must be a number from 1 to 9; got 0.5"),
        ("9.5", "payments:findingsMinSeverity must be a number from 1 to 9; got 9.5"),
        ("high", 'payments:findingsMinSeverity must be a number; got "high"'),
    ],
)
def test_the_setting_refuses_what_is_not_on_the_scale(text: str, message: str) -> None:
    raw = {**VALID_CONFIG, "payments:findingsMinSeverity": text}
    with pytest.raises(ConfigError) as raised:
        StackConfig.from_mapping(raw, project="payments", stack="t")
    assert raised.value.problems == [message]


def test_security_hub_sends_new_failed_controls_critical_or_high(controls: Graph) -> None:
    security_hub = pattern(controls, SECURITY_HUB_RULE)
    assert security_hub["source"] == ["aws.securityhub"]
    assert security_hub["detail-type"] == ["Security Hub Findings - Imported"]
    event = sample("securityhub_control_finding")
    assert not matches(security_hub, event)  # the sample as AWS shows it: MEDIUM
    assert matches(security_hub, high(event))
    assert matches(security_hub, with_finding(event, "Severity.Label", "CRITICAL"))
    must_not = {
        "a LOW one": with_finding(event, "Severity.Label", "LOW"),
        "a PASSED control": with_finding(high(event), "Compliance.Status", "PASSED"),
        "a control it could not check": with_finding(
            high(event), "Compliance.Status", "NOT_AVAILABLE"
        ),
        "one on-call acknowledged": with_finding(high(event), "Workflow.Status", "NOTIFIED"),
        "a RESOLVED one": with_finding(high(event), "Workflow.Status", "RESOLVED"),
        "a SUPPRESSED one": with_finding(high(event), "Workflow.Status", "SUPPRESSED"),
        "an ARCHIVED one": with_finding(high(event), "RecordState", "ARCHIVED"),
        "another Region's": with_finding(
            high(event), "ProductArn", "arn:aws:securityhub:eu-west-1::product/aws/securityhub"
        ),
        "a custom action": {**high(event), "detail-type": "Security Hub Findings - Custom Action"},
    }
    assert [case for case, changed in must_not.items() if matches(security_hub, changed)] == []


def test_guardduty_findings_imported_into_security_hub_do_not_alert_twice(controls: Graph) -> None:
    """GuardDuty's findings reach Security Hub too: the GuardDuty rule sends them, with its
    threshold; the Security Hub rule takes Security Hub's own control findings only."""
    security_hub = pattern(controls, SECURITY_HUB_RULE)
    imported = high(sample("guardduty_finding_in_security_hub"))
    assert not matches(security_hub, imported)
    # Not only for want of a Compliance block: the product decides.
    assert not matches(security_hub, with_finding(imported, "Compliance.Status", "FAILED"))


# -- what on-call reads -------------------------------------------------------------------------


def test_a_guardduty_finding_reads_as_a_few_lines(controls: Graph) -> None:
    event = with_detail(sample("guardduty_finding"), severity=8)
    assert rendered(target_of(controls, GUARDDUTY_RULE), event) == [
        "GuardDuty finding, severity 8: 199.241.229.197 is performing SSH brute force attacks "
        "against i-0c10c2c7863d1a356.",
        "Type: UnauthorizedAccess:EC2/SSHBruteForce",
        f"Account {ACCOUNT}, Region us-east-1, resource: Instance",
        "https://us-east-1.console.aws.amazon.com/guardduty/home?region=us-east-1"
        "#/findings?macros=current&fId=46ba0ac2845071e23ccdeb2ae03bfdea",
    ]


def test_a_failed_control_reads_as_a_few_lines(controls: Graph) -> None:
    event = high(sample("securityhub_control_finding"))
    assert rendered(target_of(controls, SECURITY_HUB_RULE), event) == [
        "Security Hub, HIGH: control CloudTrail.2 failed: "
        "CloudTrail should have encryption at-rest enabled",
        f"Account {ACCOUNT}, Region us-east-1, resource: "
        f"arn:aws:cloudtrail:us-east-1:{ACCOUNT}:trail/AWSMacieTrail-DO-NOT-EDIT",
        "How to fix it: https://docs.aws.amazon.com/console/securityhub/CloudTrail.2/remediation",
        "https://console.aws.amazon.com/securityhub/home?region=us-east-1#/controls/CloudTrail.2",
        "Set the finding's workflow status to NOTIFIED once handled, or each check resends it.",
    ]


@pytest.mark.parametrize("name", [GUARDDUTY_RULE, SECURITY_HUB_RULE, BREAK_GLASS_RULE])
def test_each_message_uses_only_what_it_takes_and_never_the_raw_event(
    controls: Graph, name: str
) -> None:
    transformer = target_of(controls, name).inputs["inputTransformer"]
    template = transformer["inputTemplate"]
    assert set(re.findall(r"<([\w.-]+)>", template)) == set(transformer["inputPaths"])
    assert "aws.events.event" not in template and '$.detail"' not in template
    assert all(path.startswith("$.") for path in transformer["inputPaths"].values())
    # Plain text on one line: nothing a value holds can end a string or break a line.
    assert '"' not in template and "\n" not in template
    assert len(template) < 600  # a few lines, not a finding


@pytest.mark.parametrize("title", ['evil.example"', "back\\slash", "two\nlines", '"}{"'])
def test_a_title_with_a_quote_backslash_or_line_break_still_makes_the_message(
    controls: Graph, title: str
) -> None:
    event = with_detail(sample("guardduty_finding"), severity=8, title=title)
    target = target_of(controls, GUARDDUTY_RULE)
    assert rendered(target, event)[0] == f"GuardDuty finding, severity 8: {title}"
    # The quoted-lines template (one JSON string a line) this replaced loses the message.
    quoted = "\n".join(json.dumps(line) for line in GUARDDUTY_MESSAGE.lines)
    with pytest.raises(ValueError):
        filled(quoted, dict(GUARDDUTY_MESSAGE.paths), event)


def test_a_message_that_is_not_one_line_of_plain_text_is_refused() -> None:
    for broken in (("a", 'say "hi"'), ("a\nb",)):
        with pytest.raises(ValueError, match="one line of plain text"):
            _ = Message(paths={}, lines=broken).template


@pytest.mark.parametrize("name", [GUARDDUTY_RULE, SECURITY_HUB_RULE, BREAK_GLASS_RULE])
def test_the_target_takes_names_eventbridge_accepts(controls: Graph, name: str) -> None:
    """PutTargets' rules, anchored as EventBridge applies them (botocore's patterns, which
    api_model.py checks, are searched, so they do not catch a stray character)."""
    target = target_of(controls, name).inputs
    assert re.fullmatch(r"[.\-_A-Za-z0-9]{1,64}", target["targetId"])
    paths = target["inputTransformer"]["inputPaths"]
    assert len(paths) <= 100 and all(re.fullmatch(r"[A-Za-z0-9_-]{1,256}", k) for k in paths)
    assert re.fullmatch(r"[.\-_A-Za-z0-9]{1,64}", rule(controls, name).inputs["name"])


# -- who may publish: the topic's policy and the key's ------------------------------------------


def test_the_topic_admits_this_accounts_alarms_and_exactly_these_rules_over_tls(
    controls: Graph,
) -> None:
    topic = named(controls, "aws:sns/topic:Topic", f"alerts-{SUFFIX}")
    policy = only(controls, TOPIC_POLICY)
    assert policy.inputs["arn"] == topic.outputs["arn"]
    topic_arn = [topic.outputs["arn"]]
    assert json.loads(policy.inputs["policy"])["Statement"] == [
        {
            "Sid": "DenyInsecureTransport",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "sns:*",
            "Resource": topic_arn,
            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
        },
        {
            "Sid": "AlarmsOfThisAccountPublish",
            "Effect": "Allow",
            "Principal": {"Service": "cloudwatch.amazonaws.com"},
            "Action": ["sns:Publish"],
            "Resource": topic_arn,
            "Condition": {
                "ArnLike": {"aws:SourceArn": f"arn:aws:cloudwatch:us-east-1:{ACCOUNT}:alarm:*"},
                "StringEquals": {"aws:SourceAccount": ACCOUNT},
            },
        },
        {
            "Sid": "TheseEventRulesPublish",
            "Effect": "Allow",
            "Principal": {"Service": "events.amazonaws.com"},
            "Action": ["sns:Publish"],
            "Resource": topic_arn,
            "Condition": {"ArnEquals": {"aws:SourceArn": RULE_ARNS}},
        },
    ]


def test_the_rules_the_topic_names_are_the_rules_made(controls: Graph) -> None:
    """The ARNs are written before the rules exist: each must be a rule of the graph, on the
    default bus, and every rule must be named."""
    made = {
        f"arn:aws:events:us-east-1:{ACCOUNT}:rule/{r.inputs['name']}"
        for r in controls.of_type(RULE)
    }
    topic = statements(only(controls, TOPIC_POLICY))["TheseEventRulesPublish"]
    assert set(topic["Condition"]["ArnEquals"]["aws:SourceArn"]) == made


def test_the_logs_key_lets_eventbridge_encrypt_for_the_alerts_topic_only(
    controls: Graph, recorded_graph: Graph
) -> None:
    """Held to the topic by SNS's encryption context, and not by aws:SourceArn or
    aws:SourceAccount: the SNS developer guide says EventBridge's publishing to an encrypted
    topic does not support them, so they would refuse every delivery, silently (keys.py)."""
    topic = named(controls, "aws:sns/topic:Topic", f"alerts-{SUFFIX}")
    # The ARN written before the topic exists: the real shape of the topic's (iam_lint.py).
    topic_arn = f"arn:aws:sns:us-east-1:{ACCOUNT}:{topic.inputs['name']}"
    policy = statements(logs_key(controls))
    assert policy["EventRulesPublishToTheAlertsTopic"] == {
        "Sid": "EventRulesPublishToTheAlertsTopic",
        "Effect": "Allow",
        "Principal": {"Service": "events.amazonaws.com"},
        "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
        "Resource": "*",
        "Condition": {"StringEquals": {"kms:EncryptionContext:aws:sns:topicArn": topic_arn}},
    }
    # Nothing else of the key changes with the setting.
    unchanged = {k: v for k, v in policy.items() if k != "EventRulesPublishToTheAlertsTopic"}
    assert unchanged == statements(logs_key(recorded_graph))


def test_each_rule_has_an_alarm_on_its_failed_deliveries_to_the_alerts_topic(
    controls: Graph,
) -> None:
    topic = only(controls, "aws:sns/topic:Topic")
    alarms = {
        a.inputs["dimensions"]["RuleName"]: a
        for a in controls.of_type(ALARM)
        if a.inputs.get("namespace") == "AWS/Events"
    }
    assert set(alarms) == {GUARDDUTY_RULE, SECURITY_HUB_RULE, BREAK_GLASS_RULE}
    for rule_name, alarm in alarms.items():
        assert alarm.inputs["metricName"] == "FailedInvocations", rule_name
        assert alarm.inputs["statistic"] == "Sum" and alarm.inputs["threshold"] == 0
        assert alarm.inputs["comparisonOperator"] == "GreaterThanThreshold"
        assert alarm.inputs["alarmActions"] == [topic.outputs["arn"]], rule_name
        assert named(controls, RULE, rule_name)  # the rule it watches exists, by that name


def test_without_account_controls_there_is_no_findings_alarm(graph: Graph) -> None:
    namespaces = {a.inputs.get("namespace") for a in graph.of_type(ALARM)}
    assert "AWS/Events" not in namespaces
