"""functions/alb_log_forwarder: parse ALB access logs from S3, send them to CloudWatch Logs."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote_plus

import boto3
import pytest
from botocore.exceptions import ClientError, EndpointConnectionError

from functions.alb_log_forwarder import handler as forwarder
from functions.alb_log_forwarder.handler import (
    EVENT_OVERHEAD_BYTES,
    MAX_BATCH_BYTES,
    MAX_BATCH_EVENTS,
    MAX_EVENT_MESSAGE_BYTES,
    TRUNCATION_MARKER,
    ForwardingError,
    MalformedLineError,
    call_with_retries,
    fit_message,
    forward_object,
    make_batches,
    parse_line,
    send_batch,
    stream_name_for,
    timestamp_ms,
)
from tests.functions.alb_samples import (
    BROWSER_USER_AGENT,
    CONSTRUCTED_BROWSER,
    CONSTRUCTED_IPV6_CLIENT,
    CONSTRUCTED_NOT_DISPATCHED,
    DOC_H2_REDIRECT,
    DOC_HTTP,
    DOC_HTTPS,
    DOC_LAMBDA,
    DOC_LAMBDA_FAILED,
    DOC_TIME,
    DOC_TIME_MS,
    DOC_WS,
    DOC_WSS,
    FakeLogs,
    FakeS3,
    RecordingSleep,
    at_time,
    client_error,
    gzipped,
)

HOUR_MS = 60 * 60 * 1000
BUCKET = "alb-logs-prod1"
LOG_GROUP = "/aws/alb/access/alb-prod1"
# A real ALB object name under a prefix with a space and a '+', which the S3 event encodes.
KEY = (
    "alb access+logs/AWSLogs/123456789012/elasticloadbalancing/us-east-1/2026/09/29/"
    "123456789012_elasticloadbalancing_us-east-1_app.alb-prod1.50dc6c495c0c9188_"
    "20260929T2340Z_10.0.1.15_2fh3k9ab.log.gz"
)
MALFORMED = "this is not an access-log entry"


# --- parse_line: AWS's example entries ---------------------------------------------------------


def test_http_entry_splits_client_and_target_into_ip_and_port() -> None:
    record = parse_line(DOC_HTTP)
    assert (record["client_ip"], record["client_port"]) == ("192.168.131.39", 2817)
    assert (record["target_ip"], record["target_port"]) == ("10.0.0.1", 80)


def test_http_entry_splits_the_request_into_verb_url_and_protocol() -> None:
    record = parse_line(DOC_HTTP)
    assert record["request"] == "GET http://www.example.com:80/ HTTP/1.1"
    assert record["request_verb"] == "GET"
    assert record["request_url"] == "http://www.example.com:80/"
    assert record["request_proto"] == "HTTP/1.1"


def test_http_entry_reads_numbers_as_numbers() -> None:
    record = parse_line(DOC_HTTP)
    assert record["request_processing_time"] == 0.0
    assert record["target_processing_time"] == 0.001
    assert (record["elb_status_code"], record["target_status_code"]) == (200, 200)
    assert (record["received_bytes"], record["sent_bytes"]) == (34, 366)
    assert record["matched_rule_priority"] == 0


def test_http_entry_reads_a_dash_as_null() -> None:
    record = parse_line(DOC_HTTP)
    assert record["ssl_cipher"] is None
    assert record["ssl_protocol"] is None
    assert record["domain_name"] is None
    assert record["chosen_cert_arn"] is None
    assert record["redirect_url"] is None
    assert record["classification"] is None


def test_entry_ending_at_conn_trace_id_has_null_transform_fields() -> None:
    record = parse_line(DOC_HTTP)
    assert record["conn_trace_id"] == "TID_1234abcd5678ef90"
    assert record["transformed_host"] is None
    assert record["request_transform_status"] is None
    assert record["extra_fields"] == []


def test_https_entry_keeps_the_tls_and_certificate_fields() -> None:
    record = parse_line(DOC_HTTPS)
    assert record["type"] == "https"
    assert record["ssl_cipher"] == "ECDHE-RSA-AES128-GCM-SHA256"
    assert record["ssl_protocol"] == "TLSv1.2"
    assert record["domain_name"] == "www.example.com"
    assert record["chosen_cert_arn"] == (
        "arn:aws:acm:us-east-2:123456789012:certificate/12345678-1234-1234-1234-123456789012"
    )
    assert record["actions_executed"] == "authenticate,forward"


def test_https_entry_reads_the_transform_fields_after_conn_trace_id() -> None:
    record = parse_line(DOC_HTTPS)
    assert record["transformed_host"] == "m.example.com"
    assert record["transformed_uri"] is None
    assert record["request_transform_status"] == "TransformSuccess"
    assert record["extra_fields"] == []


def test_http2_entry_reports_the_http2_protocol() -> None:
    record = parse_line(DOC_H2_REDIRECT)
    assert record["type"] == "h2"
    assert record["request_proto"] == "HTTP/2.0"
    assert (record["client_ip"], record["client_port"]) == ("10.0.1.252", 48160)


def test_redirect_entry_keeps_the_redirect_url() -> None:
    record = parse_line(DOC_H2_REDIRECT)
    assert record["actions_executed"] == "redirect"
    assert record["redirect_url"] == "https://example.com:80/"


@pytest.mark.parametrize(
    ("line", "kind", "target", "cipher"),
    [
        (DOC_WS, "ws", ("10.0.1.192", 8010), None),
        (DOC_WSS, "wss", ("10.0.0.171", 8010), "ECDHE-RSA-AES128-GCM-SHA256"),
    ],
)
def test_websocket_entry_records_the_protocol_switch(
    line: str, kind: str, target: tuple[str, int], cipher: str | None
) -> None:
    record = parse_line(line)
    assert record["type"] == kind
    assert (record["elb_status_code"], record["target_status_code"]) == (101, 101)
    assert (record["target_ip"], record["target_port"]) == target
    assert record["user_agent"] is None
    assert record["ssl_cipher"] == cipher


def test_lambda_target_entry_has_no_target_address() -> None:
    record = parse_line(DOC_LAMBDA)
    assert record["target_ip"] is None
    assert record["target_port"] is None
    assert record["target_port_list"] is None
    assert record["target_group_arn"].startswith("arn:aws:elasticloadbalancing:us-east-2:")
    assert record["elb_status_code"] == 200


def test_failed_lambda_entry_keeps_the_error_reason() -> None:
    record = parse_line(DOC_LAMBDA_FAILED)
    assert record["elb_status_code"] == 502
    assert record["target_status_code"] is None
    assert record["error_reason"] == "LambdaInvalidResponse"


def test_request_that_could_not_be_dispatched_keeps_minus_one_processing_times() -> None:
    record = parse_line(CONSTRUCTED_NOT_DISPATCHED)
    assert record["request_processing_time"] == -1
    assert record["target_processing_time"] == -1
    assert record["response_processing_time"] == -1
    assert record["elb_status_code"] == 400
    assert record["target_status_code"] is None


def test_request_that_could_not_be_parsed_has_null_verb_url_and_protocol() -> None:
    record = parse_line(CONSTRUCTED_NOT_DISPATCHED)
    assert (record["request_verb"], record["request_url"], record["request_proto"]) == (
        None,
        None,
        None,
    )


def test_user_agent_keeps_its_spaces_and_escaped_quotes() -> None:
    assert parse_line(CONSTRUCTED_BROWSER)["user_agent"] == BROWSER_USER_AGENT


def test_ipv6_client_splits_at_the_last_colon() -> None:
    record = parse_line(CONSTRUCTED_IPV6_CLIENT)
    assert (record["client_ip"], record["client_port"]) == ("2001:db8::1", 2817)


def test_fields_after_the_known_ones_are_kept_in_extra_fields() -> None:
    record = parse_line(DOC_HTTPS + ' "future value" 42 -')
    assert record["request_transform_status"] == "TransformSuccess"
    assert record["extra_fields"] == ["future value", "42", None]


def test_time_converts_to_epoch_milliseconds() -> None:
    assert timestamp_ms(DOC_TIME) == DOC_TIME_MS


# --- parse_line: malformed lines -----------------------------------------------------------------


def test_line_with_too_few_fields_is_rejected() -> None:
    with pytest.raises(MalformedLineError, match="fields"):
        parse_line(DOC_HTTP.rsplit(" ", 1)[0])


def test_line_with_an_unparseable_time_is_rejected() -> None:
    with pytest.raises(MalformedLineError, match="time"):
        parse_line(at_time(DOC_HTTP, "yesterday"))


def test_line_with_an_unterminated_quote_is_rejected() -> None:
    with pytest.raises(MalformedLineError):
        parse_line(DOC_HTTP.replace('"curl/7.46.0"', '"curl/7.46.0'))


def test_line_with_a_non_numeric_status_code_is_rejected() -> None:
    with pytest.raises(MalformedLineError, match="elb_status_code"):
        parse_line(DOC_HTTP.replace(" 200 200 ", " OK 200 ", 1))


# --- make_batches and the event limit ------------------------------------------------------------


def test_exactly_10000_events_fit_in_one_batch() -> None:
    batches = make_batches([(1, "x")] * MAX_BATCH_EVENTS)
    assert [len(batch) for batch in batches] == [10_000]


def test_10001_events_need_two_batches() -> None:
    batches = make_batches([(1, "x")] * (MAX_BATCH_EVENTS + 1))
    assert [len(batch) for batch in batches] == [10_000, 1]


def test_events_that_total_exactly_the_byte_limit_share_one_batch() -> None:
    half = MAX_BATCH_BYTES // 2 - EVENT_OVERHEAD_BYTES  # two events: exactly 1,048,576 bytes
    batches = make_batches([(1, "a" * half), (2, "b" * half)])
    assert len(batches) == 1


def test_events_one_byte_over_the_byte_limit_split_into_two_batches() -> None:
    half = MAX_BATCH_BYTES // 2 - EVENT_OVERHEAD_BYTES
    batches = make_batches([(1, "a" * half), (2, "b" * (half + 1))])
    assert [len(batch) for batch in batches] == [1, 1]


def test_byte_limit_counts_utf8_bytes_not_characters() -> None:
    euros = MAX_BATCH_BYTES // 2 // 3  # "€" is 3 bytes in UTF-8: the pair is over the limit
    batches = make_batches([(1, "€" * euros), (2, "€" * euros)])
    assert [len(batch) for batch in batches] == [1, 1]


def test_batches_are_sorted_by_timestamp() -> None:
    batches = make_batches([(3, "c"), (1, "a"), (2, "b")])
    assert batches == [[(1, "a"), (2, "b"), (3, "c")]]


def test_events_spanning_25_hours_split_into_two_batches() -> None:
    batches = make_batches([(0, "first"), (12 * HOUR_MS, "middle"), (25 * HOUR_MS, "last")])
    assert batches == [[(0, "first"), (12 * HOUR_MS, "middle")], [(25 * HOUR_MS, "last")]]


def test_events_within_23_hours_share_one_batch() -> None:
    assert len(make_batches([(0, "first"), (23 * HOUR_MS, "last")])) == 1


def test_no_events_make_no_batches() -> None:
    assert make_batches([]) == []


def test_oversized_message_is_truncated_to_the_event_limit_and_marked() -> None:
    message = fit_message("x" * (MAX_EVENT_MESSAGE_BYTES + 1000))
    assert len(message.encode("utf-8")) == MAX_EVENT_MESSAGE_BYTES
    assert message.endswith(TRUNCATION_MARKER)


def test_truncation_never_splits_a_multibyte_character() -> None:
    message = fit_message("€" * MAX_EVENT_MESSAGE_BYTES)
    assert len(message.encode("utf-8")) <= MAX_EVENT_MESSAGE_BYTES
    assert set(message.removesuffix(TRUNCATION_MARKER)) == {"€"}


def test_message_within_the_event_limit_is_left_alone() -> None:
    message = "y" * MAX_EVENT_MESSAGE_BYTES
    assert fit_message(message) is message


# --- log stream names ----------------------------------------------------------------------------


def test_stream_name_replaces_slashes_colons_and_asterisks() -> None:
    assert stream_name_for("AWSLogs/1/a:b*c.log.gz") == "AWSLogs_1_a_b_c.log.gz"


def test_stream_name_of_a_very_long_key_is_512_characters_and_unique() -> None:
    first, second = "p/" * 400 + "one.log.gz", "q/" * 400 + "one.log.gz"
    assert len(stream_name_for(first)) == 512
    assert stream_name_for(first) != stream_name_for(second)


# --- retries -------------------------------------------------------------------------------------


def test_throttling_is_retried_until_it_succeeds_without_real_sleeping() -> None:
    logs, sleep = FakeLogs([client_error("ThrottlingException")] * 2), RecordingSleep()
    send_batch(logs, LOG_GROUP, "stream", [(1, "a")], sleep=sleep)
    assert logs.put_calls == 3
    assert len(sleep.delays) == 2
    assert logs.accepted == [[{"timestamp": 1, "message": "a"}]]


def test_service_unavailable_is_retried() -> None:
    logs = FakeLogs([client_error("ServiceUnavailableException")])
    send_batch(logs, LOG_GROUP, "stream", [(1, "a")], sleep=RecordingSleep())
    assert logs.put_calls == 2


def test_a_connection_error_is_retried() -> None:
    calls: list[int] = []

    def flaky() -> str:
        calls.append(1)
        if len(calls) == 1:
            raise EndpointConnectionError(endpoint_url="https://logs.us-east-1.amazonaws.com")
        return "ok"

    assert call_with_retries(flaky, sleep=RecordingSleep()) == "ok"


def test_backoff_doubles_with_full_jitter_up_to_the_cap(monkeypatch: pytest.MonkeyPatch) -> None:
    bounds: list[tuple[float, float]] = []

    def upper(low: float, high: float) -> float:
        bounds.append((low, high))
        return high

    monkeypatch.setattr(forwarder.random, "uniform", upper)
    logs, sleep = FakeLogs([client_error("ThrottlingException")] * 7), RecordingSleep()
    call_with_retries(logs.put_log_events, sleep=sleep, max_attempts=8, logEvents=[])
    assert bounds == [(0, 0.25), (0, 0.5), (0, 1.0), (0, 2.0), (0, 4.0), (0, 8.0), (0, 8.0)]
    assert sleep.delays == [high for _, high in bounds]


def test_throttling_that_never_stops_raises_after_the_last_attempt() -> None:
    logs = FakeLogs([client_error("ThrottlingException")] * 10)
    with pytest.raises(ClientError, match="ThrottlingException"):
        send_batch(logs, LOG_GROUP, "stream", [(1, "a")], sleep=RecordingSleep())
    assert logs.put_calls == forwarder.MAX_ATTEMPTS


def test_an_error_that_is_not_transient_is_raised_without_retrying() -> None:
    logs, sleep = FakeLogs([client_error("InvalidParameterException")]), RecordingSleep()
    with pytest.raises(ClientError, match="InvalidParameterException"):
        send_batch(logs, LOG_GROUP, "stream", [(1, "a")], sleep=sleep)
    assert (logs.put_calls, sleep.delays) == (1, [])


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
