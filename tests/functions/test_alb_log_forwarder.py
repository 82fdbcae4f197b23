"""functions/alb_log_forwarder: an access-log object forwarded batch by batch, and the
handler end to end against moto's S3 and CloudWatch Logs."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote_plus

import boto3
import pytest

from functions.alb_log_forwarder import handler as forwarder
from functions.alb_log_forwarder.access_log_format import timestamp_ms
from functions.alb_log_forwarder.handler import ForwardingError, forward_object
from functions.alb_log_forwarder.log_batches import stream_name_for
from tests.functions.alb_samples import (
    BROWSER_USER_AGENT,
    BUCKET,
    CONSTRUCTED_BROWSER,
    DOC_HTTP,
    DOC_HTTPS,
    DOC_WS,
    KEY,
    LOG_GROUP,
    FakeLogs,
    FakeS3,
    RecordingSleep,
    at_time,
    client_error,
    gzipped,
)

MALFORMED = "this is not an access-log entry"

# --- forward_object ------------------------------------------------------------------------------


def test_an_object_spanning_more_than_a_day_is_sent_in_two_batches() -> None:
    times = ["2026-09-28T10:00:00.000000Z", "2026-09-29T11:00:00.000000Z"]
    s3 = FakeS3({(BUCKET, KEY): gzipped([at_time(DOC_HTTP, t) for t in reversed(times)])})
    logs = FakeLogs()
    summary = forward_object(s3, logs, BUCKET, KEY, LOG_GROUP, sleep=RecordingSleep())
    assert (summary["batches"], summary["events_sent"]) == (2, 2)
    assert [[event["timestamp"] for event in batch] for batch in logs.accepted] == [
        [timestamp_ms(times[0])],
        [timestamp_ms(times[1])],
    ]
    assert logs.streams == [stream_name_for(KEY)]


def test_a_failed_batch_is_raised_after_the_other_batches_are_sent() -> None:
    day_one = "2026-09-28T10:00:00.000000Z"
    day_two = "2026-09-29T11:00:00.000000Z"  # 25 hours later: a batch of its own
    s3 = FakeS3({(BUCKET, KEY): gzipped([at_time(DOC_HTTP, day_two), at_time(DOC_HTTP, day_one)])})
    logs = FakeLogs([client_error("InvalidParameterException")])  # the first batch fails
    with pytest.raises(ForwardingError, match="1 of 2 batches"):
        forward_object(s3, logs, BUCKET, KEY, LOG_GROUP, sleep=RecordingSleep())
    assert [[event["timestamp"] for event in batch] for batch in logs.accepted] == [
        [timestamp_ms(day_two)]
    ]


# --- the handler, end to end against moto --------------------------------------------------------


def recent(minutes_ago: int) -> str:
    """An ALB time a few minutes ago (CloudWatch Logs rejects events over 14 days old)."""
    moment = datetime.now(UTC).replace(microsecond=123456) - timedelta(minutes=minutes_ago)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def s3_event(*keys: str, bucket: str = BUCKET) -> dict[str, Any]:
    """An S3 ObjectCreated event as Lambda receives it: keys URL-encoded, '+' for a space."""
    return {
        "Records": [
            {
                "eventVersion": "2.1",
                "eventSource": "aws:s3",
                "awsRegion": "us-east-1",
                "eventName": "ObjectCreated:Put",
                "s3": {
                    "s3SchemaVersion": "1.0",
                    "bucket": {"name": bucket, "arn": f"arn:aws:s3:::{bucket}"},
                    "object": {"key": quote_plus(key, safe="/"), "size": 1024},
                },
            }
            for key in keys
        ]
    }


@pytest.fixture
def logs_env(aws: None, monkeypatch: pytest.MonkeyPatch) -> Any:
    """The log bucket and the log group, in moto; LOG_GROUP_NAME set. Returns a Logs client."""
    monkeypatch.setenv("LOG_GROUP_NAME", LOG_GROUP)
    boto3.client("s3").create_bucket(Bucket=BUCKET)
    logs = boto3.client("logs")
    logs.create_log_group(logGroupName=LOG_GROUP)
    return logs


TIMES = [recent(9), recent(5), recent(7)]
LINES = [
    at_time(DOC_HTTPS, TIMES[0]),
    at_time(DOC_WS, TIMES[1]),
    MALFORMED,
    at_time(CONSTRUCTED_BROWSER, TIMES[2]),
]


def put_log_file(key: str = KEY, lines: list[str] = LINES) -> None:
    boto3.client("s3").put_object(Bucket=BUCKET, Key=key, Body=gzipped(lines))


def events_of(logs: Any, key: str = KEY) -> list[dict[str, Any]]:
    response = logs.get_log_events(
        logGroupName=LOG_GROUP, logStreamName=stream_name_for(key), startFromHead=True
    )
    return list(response["events"])


def test_handler_sends_each_line_as_a_json_document_stamped_with_its_time(logs_env: Any) -> None:
    put_log_file()
    forwarder.handler(s3_event(KEY), None)
    events = events_of(logs_env)
    documents = [json.loads(event["message"]) for event in events]
    assert [event["timestamp"] for event in events] == sorted(timestamp_ms(t) for t in TIMES)
    assert [document["type"] for document in documents] == ["https", "https", "ws"]
    assert documents[1]["user_agent"] == BROWSER_USER_AGENT
    assert documents[2]["elb_status_code"] == 101


def test_handler_skips_a_malformed_line_and_sends_the_lines_after_it(logs_env: Any) -> None:
    put_log_file()
    result = forwarder.handler(s3_event(KEY), None)
    summary = result["objects"][0]
    assert (summary["lines"], summary["parsed"], summary["skipped"]) == (4, 3, 1)
    assert summary["events_sent"] == len(events_of(logs_env)) == 3


def test_handler_warns_of_a_malformed_line_with_its_key_and_number(
    logs_env: Any, caplog: pytest.LogCaptureFixture
) -> None:
    put_log_file()
    with caplog.at_level(logging.WARNING):
        forwarder.handler(s3_event(KEY), None)
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "line 3" in warnings[0]
    assert KEY in warnings[0]


def test_handler_logs_a_one_line_json_summary_per_object(
    logs_env: Any, caplog: pytest.LogCaptureFixture
) -> None:
    put_log_file()
    with caplog.at_level(logging.INFO):
        forwarder.handler(s3_event(KEY), None)
    summaries = [json.loads(r.getMessage()) for r in caplog.records if r.getMessage()[0] == "{"]
    assert summaries == [
        {
            "bucket": BUCKET,
            "key": KEY,
            "log_group": LOG_GROUP,
            "log_stream": stream_name_for(KEY),
            "lines": 4,
            "parsed": 3,
            "skipped": 1,
            "events_sent": 3,
            "batches": 1,
            "failed_batches": 0,
        }
    ]


def test_handler_url_decodes_the_object_key(logs_env: Any) -> None:
    put_log_file()
    assert "alb+access%2Blogs/" in s3_event(KEY)["Records"][0]["s3"]["object"]["key"]
    result = forwarder.handler(s3_event(KEY), None)
    assert result["objects"][0]["key"] == KEY


def test_redelivered_event_reuses_the_existing_log_stream(logs_env: Any) -> None:
    put_log_file()
    forwarder.handler(s3_event(KEY), None)
    forwarder.handler(s3_event(KEY), None)  # at least once: the lines are sent again
    assert len(events_of(logs_env)) == 6


def test_handler_ignores_the_load_balancers_test_file(logs_env: Any) -> None:
    test_file = "alb access+logs/AWSLogs/123456789012/ELBAccessLogTestFile"
    boto3.client("s3").put_object(Bucket=BUCKET, Key=test_file, Body=b"Enable AccessLog for ELB")
    assert forwarder.handler(s3_event(test_file), None) == {"objects": []}


def test_handler_forwards_the_other_objects_before_raising_for_a_missing_one(
    logs_env: Any,
) -> None:
    put_log_file()
    missing = KEY.replace("2fh3k9ab", "missing0")
    with pytest.raises(ForwardingError, match="1 object"):
        forwarder.handler(s3_event(missing, KEY), None)
    assert len(events_of(logs_env)) == 3


def test_handler_raises_for_a_log_file_that_is_not_gzip(logs_env: Any) -> None:
    boto3.client("s3").put_object(Bucket=BUCKET, Key=KEY, Body=DOC_HTTP.encode())
    with pytest.raises(ForwardingError, match="gzip"):
        forwarder.handler(s3_event(KEY), None)


def test_handler_raises_when_the_log_group_does_not_exist(
    logs_env: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LOG_GROUP_NAME", "/aws/alb/access/no-such-group")
    put_log_file()
    with pytest.raises(ForwardingError, match="ResourceNotFoundException"):
        forwarder.handler(s3_event(KEY), None)


def test_handler_refuses_to_run_without_a_log_group_name(
    aws: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("LOG_GROUP_NAME", raising=False)
    with pytest.raises(ForwardingError, match="LOG_GROUP_NAME"):
        forwarder.handler(s3_event(KEY), None)


def test_events_cloudwatch_rejects_as_too_old_are_reported_in_a_warning(
    logs_env: Any, caplog: pytest.LogCaptureFixture
) -> None:
    put_log_file(lines=[DOC_HTTP])  # 2018: more than 14 days ago
    with caplog.at_level(logging.WARNING):
        forwarder.handler(s3_event(KEY), None)
    assert any("tooOldLogEventEndIndex" in r.getMessage() for r in caplog.records)
