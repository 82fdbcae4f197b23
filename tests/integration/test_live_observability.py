"""The deployed observability: log groups (30 days, KMS), fresh events, alarms to the topic."""

from __future__ import annotations

import time
from typing import Any

import pytest

from tests.integration.live_helpers import expected_log_groups, has_event_since, stack_alarms

LOG_GROUP_KEYS = ("vpc-flow-logs", "api", "alb-access", "rds-postgresql")
RECENT_MINUTES = 60
MIN_ALARMS = 15
NO_RECENT_EVENT_HINTS = {
    "api": "the API tasks log every request and their start-up; are tasks running?",
    "vpc-flow-logs": "flow logs are delivered about every 10 minutes",
    "alb-access": (
        "the ALB delivers access logs to S3 every 5 minutes and the forwarder then needs up to "
        "a minute to put them into CloudWatch, so a fresh stack may need traffic first "
        "(e.g. a request to api_url, then wait 6 minutes)"
    ),
}


def _log_group(logs: Any, name: str) -> dict[str, Any]:
    pages = logs.get_paginator("describe_log_groups").paginate(logGroupNamePrefix=name)
    found = [g for page in pages for g in page["logGroups"] if g["logGroupName"] == name]
    assert found, f"log group {name} does not exist"
    return dict(found[0])


@pytest.mark.parametrize("key", LOG_GROUP_KEYS)
def test_log_group_keeps_events_30_days(logs: Any, stack_outputs: dict[str, Any], key: str) -> None:
    name = expected_log_groups(stack_outputs)[key]
    retention = _log_group(logs, name).get("retentionInDays")
    assert retention == 30, f"{name} keeps events {retention or 'forever'} days, not 30"


@pytest.mark.parametrize("key", LOG_GROUP_KEYS)
def test_log_group_is_encrypted_with_a_kms_key(
    logs: Any, stack_outputs: dict[str, Any], key: str
) -> None:
    name = expected_log_groups(stack_outputs)[key]
    assert _log_group(logs, name).get("kmsKeyId"), f"{name} is not encrypted with a KMS key"


@pytest.mark.parametrize("key", sorted(NO_RECENT_EVENT_HINTS))
def test_log_group_received_events_in_the_last_hour(
    logs: Any, stack_outputs: dict[str, Any], key: str
) -> None:
    name = expected_log_groups(stack_outputs)[key]
    since_ms = int((time.time() - RECENT_MINUTES * 60) * 1000)
    assert has_event_since(logs, name, since_ms), (
        f"{name} has no event from the last {RECENT_MINUTES} minutes: {NO_RECENT_EVENT_HINTS[key]}"
    )


def test_stack_has_at_least_15_alarms(cloudwatch: Any, environment_suffix: str) -> None:
    names = sorted(a["AlarmName"] for a in stack_alarms(cloudwatch, environment_suffix))
    assert len(names) >= MIN_ALARMS, (
        f"{len(names)} alarms named alarm-*-{environment_suffix}, expected at least "
        f"{MIN_ALARMS}: {names}"
    )


def test_every_alarm_notifies_the_alerts_topic(
    cloudwatch: Any, environment_suffix: str, stack_outputs: dict[str, Any]
) -> None:
    topic = stack_outputs["alerts_topic_arn"]
    alarms = stack_alarms(cloudwatch, environment_suffix)
    assert alarms, f"no alarm named alarm-*-{environment_suffix}"
    silent = sorted(a["AlarmName"] for a in alarms if topic not in a.get("AlarmActions", []))
    assert not silent, f"alarms that do not send to {topic} on ALARM: {silent}"


def test_every_alarm_notifies_the_alerts_topic_on_recovery(
    cloudwatch: Any, environment_suffix: str, stack_outputs: dict[str, Any]
) -> None:
    topic = stack_outputs["alerts_topic_arn"]
    alarms = stack_alarms(cloudwatch, environment_suffix)
    assert alarms, f"no alarm named alarm-*-{environment_suffix}"
    silent = sorted(a["AlarmName"] for a in alarms if topic not in a.get("OKActions", []))
    assert not silent, f"alarms that do not send to {topic} on OK: {silent}"
