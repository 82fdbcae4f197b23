"""functions/alb_log_forwarder, access_log_format: AWS's example ALB access-log entries, and
malformed lines, parsed."""

from __future__ import annotations

import pytest

from functions.alb_log_forwarder.access_log_format import (
    MalformedLineError,
    parse_line,
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
    at_time,
)

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
