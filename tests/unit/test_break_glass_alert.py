"""The break-glass role's use, to on-call (components/account/break_glass_alert.py), read from
the recorded graph: the rule, its state, pattern and message, the topic's policy and the alarm.

The pattern, as the graph holds it, is run (tests/event_patterns.py) against a CloudTrail
AssumeRole event of the role, tests/fixtures/findings/sts_assume_role_break_glass.json (its
README says how it was put together), and against the cases that must not match.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from payments_infra.components.account.break_glass_alert import WITH_READ_ONLY_MANAGEMENT_EVENTS
from payments_infra.offline.graph import Graph
from payments_infra.offline.mocks import record_program
from tests.event_patterns import matches
from tests.graph_queries import named, only
from tests.stacks import SUFFIX
from tests.unit.test_findings_routing import (
    ACCOUNT,
    ALARM,
    ON,
    RULE,
    TARGET,
    TOPIC_POLICY,
    pattern,
    rendered,
    rule,
    sample,
    statements,
    target_of,
)

BREAK_GLASS_RULE = f"break-glass-used-{SUFFIX}"
ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/break-glass-{SUFFIX}"


@pytest.fixture(scope="module")
def controls() -> Graph:
    return record_program(ON, stack="test")


def assume_role() -> dict[str, Any]:
    return sample("sts_assume_role_break_glass")


def with_detail(event: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    """A copy of the event with one field of its ``detail``, ``a.b``, set."""
    changed = copy.deepcopy(event)
    *parents, last = path.split(".")
    node = changed["detail"]
    for part in parents:
        node = node[part]
    node[last] = value
    return changed


def test_the_rule_watches_the_stacks_break_glass_role_and_no_other(controls: Graph) -> None:
    role = named(controls, "aws:iam/role:Role", f"break-glass-{SUFFIX}")
    assert role.outputs["arn"] == ROLE_ARN
    assert pattern(controls, BREAK_GLASS_RULE) == {
        "source": ["aws.sts"],
        "detail-type": ["AWS API Call via CloudTrail"],
        "detail": {
            "eventSource": ["sts.amazonaws.com"],
            "eventName": ["AssumeRole"],
            "requestParameters": {"roleArn": [ROLE_ARN]},
        },
    }


def test_an_assume_role_of_the_break_glass_role_matches(controls: Graph) -> None:
    event = assume_role()
    assert event["detail"]["requestParameters"]["roleArn"] == ROLE_ARN
    assert matches(pattern(controls, BREAK_GLASS_RULE), event)


def test_nothing_else_matches(controls: Graph) -> None:
    found = pattern(controls, BREAK_GLASS_RULE)
    event = assume_role()
    other_role = f"arn:aws:iam::{ACCOUNT}:role/task-role-{SUFFIX}"
    must_not = {
        "another role": with_detail(event, "requestParameters.roleArn", other_role),
        "another account's role of that name": with_detail(
            event, "requestParameters.roleArn", ROLE_ARN.replace(ACCOUNT, "444455556666")
        ),
        "another STS call": with_detail(event, "eventName", "AssumeRoleWithWebIdentity"),
        "a session token": with_detail(event, "eventName", "GetSessionToken"),
        "another service's call": {
            **with_detail(event, "eventSource", "iam.amazonaws.com"),
            "source": "aws.iam",
        },
        "an STS event not from CloudTrail": {**event, "detail-type": "AWS Service Event"},
    }
    assert [case for case, changed in must_not.items() if matches(found, changed)] == []


def test_the_rule_receives_read_only_management_events(controls: Graph) -> None:
    """AssumeRole is read-only: a rule ENABLED (EventBridge's default) never receives it."""
    assert assume_role()["detail"]["readOnly"] is True
    assert rule(controls, BREAK_GLASS_RULE).inputs["state"] == WITH_READ_ONLY_MANAGEMENT_EVENTS
    assert WITH_READ_ONLY_MANAGEMENT_EVENTS == "ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS"


def test_it_sends_one_line_of_who_from_where_and_when(controls: Graph) -> None:
    target = target_of(controls, BREAK_GLASS_RULE)
    topic = named(controls, "aws:sns/topic:Topic", f"alerts-{SUFFIX}")
    assert target.inputs["arn"] == topic.outputs["arn"]
    assert rendered(target, assume_role()) == [
        f"Break-glass role assumed: {ROLE_ARN}",
        f"By arn:aws:iam::{ACCOUNT}:user/Alice, from 192.0.2.101, at 2026-12-07T06:40:12Z (UTC)",
        f"Account {ACCOUNT}, Region us-east-1",
        "Expected only in an emergency: confirm with whoever assumed it, then read what the "
        "session did in CloudTrail.",
    ]
    transformer = target.inputs["inputTransformer"]
    # Nothing of the session's credentials, nor the raw event.
    assert not any("responseElements" in path for path in transformer["inputPaths"].values())
    assert "aws.events.event" not in transformer["inputTemplate"]


def test_only_with_account_controls(recorded_graph: Graph) -> None:
    assert [r for r in recorded_graph.of_type(RULE) if "break-glass" in r.inputs["name"]] == []
    assert recorded_graph.of_type(TARGET) == []


def test_the_topic_admits_the_rule(controls: Graph) -> None:
    published = statements(only(controls, TOPIC_POLICY))["TheseEventRulesPublish"]
    arn = f"arn:aws:events:us-east-1:{ACCOUNT}:rule/{BREAK_GLASS_RULE}"
    assert arn in published["Condition"]["ArnEquals"]["aws:SourceArn"]


def test_its_failed_deliveries_raise_an_alarm(controls: Graph) -> None:
    topic = only(controls, "aws:sns/topic:Topic")
    (alarm,) = [
        a
        for a in controls.of_type(ALARM)
        if a.inputs.get("dimensions") == {"RuleName": BREAK_GLASS_RULE}
    ]
    assert alarm.inputs["name"] == f"alarm-break-glass-alert-failed-{SUFFIX}"
    assert alarm.inputs["namespace"] == "AWS/Events"
    assert alarm.inputs["metricName"] == "FailedInvocations"
    assert alarm.inputs["alarmActions"] == [topic.outputs["arn"]]
