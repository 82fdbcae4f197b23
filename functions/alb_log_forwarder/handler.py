"""Ship an Application Load Balancer's S3 access-log files into a CloudWatch Logs group.

Triggered by the log bucket's ``s3:ObjectCreated:*`` events. For each object: read it,
gunzip it, parse every line (AWS's documented ALB access-log format), and write one JSON
document per line to the log group named by ``LOG_GROUP_NAME``, in a log stream of its own
named after the object key. Standard library and boto3 only: what the Lambda runtime has.

A malformed line is logged (object key, line number, its first 200 characters) and skipped.
A permanent failure (a batch that still fails after the retries, an unreadable object) is
raised once everything else has been processed, so the asynchronous invocation fails and
goes to the function's on-failure destination.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import logging
import os
import random
import re
import time
import zlib
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import unquote_plus

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError, HTTPClientError
from botocore.exceptions import ConnectionError as BotocoreConnectionError

LOG = logging.getLogger(__name__)
LOG.setLevel(logging.INFO)

# --- PutLogEvents limits (CloudWatch Logs API reference, PutLogEvents) -----------------------
MAX_BATCH_EVENTS = 10_000
MAX_BATCH_BYTES = 1_048_576  # sum over the batch of len(message in UTF-8) + 26
EVENT_OVERHEAD_BYTES = 26
MAX_EVENT_MESSAGE_BYTES = MAX_BATCH_BYTES - EVENT_OVERHEAD_BYTES
MAX_BATCH_SPAN_MS = 24 * 60 * 60 * 1000  # a batch must not span more than 24 hours
TRUNCATION_MARKER = " ...[truncated by alb_log_forwarder]"

# --- CreateLogStream: 1-512 characters, no ':' or '*' ----------------------------------------
MAX_STREAM_NAME_CHARS = 512

# --- Retries of throttling and unavailability, with exponential backoff and full jitter ------
RETRYABLE_CODES = frozenset({"ThrottlingException", "ServiceUnavailableException"})
MAX_ATTEMPTS = 5
BASE_DELAY_S = 0.25
MAX_DELAY_S = 8.0

WARNING_EXCERPT_CHARS = 200
LOG_FILE_SUFFIX = ".log.gz"  # ALB access-log objects: ..._<random-string>.log.gz

# --- The ALB access-log entry (Elastic Load Balancing guide, "Access logs for your Application
# Load Balancer", "Access log entries"), space-separated, in this order. A field written
# "client:port" there is split here into client_ip and client_port.
REQUIRED_FIELDS = (
    "type",
    "time",
    "elb",
    "client:port",
    "target:port",
    "request_processing_time",
    "target_processing_time",
    "response_processing_time",
    "elb_status_code",
    "target_status_code",
    "received_bytes",
    "sent_bytes",
    "request",
    "user_agent",
    "ssl_cipher",
    "ssl_protocol",
    "target_group_arn",
    "trace_id",
    "domain_name",
    "chosen_cert_arn",
    "matched_rule_priority",
    "request_creation_time",
    "actions_executed",
    "redirect_url",
    "error_reason",
    "target_port_list",  # "target:port_list" in the guide
    "target_status_code_list",
    "classification",
    "classification_reason",
    "conn_trace_id",
)
# Added to the guide after conn_trace_id with listener-rule transforms; older lines lack them.
OPTIONAL_FIELDS = ("transformed_host", "transformed_uri", "request_transform_status")
FLOAT_FIELDS = frozenset(
    {"request_processing_time", "target_processing_time", "response_processing_time"}
)
INT_FIELDS = frozenset(
    {
        "elb_status_code",
        "target_status_code",
        "received_bytes",
        "sent_bytes",
        "matched_rule_priority",
    }
)

# One field: a double-quoted string (backslash escapes allowed inside) or a run of non-spaces,
# followed by a space or the end of the line.
_FIELD = re.compile(r'"(?P<quoted>(?:[^"\\]|\\.)*)"(?= |$)|(?P<bare>[^ "]+)(?= |$)')
_ESCAPE = re.compile(r"\\([\"\\])")

Event = tuple[int, str]  # (timestamp in epoch milliseconds, message)
Sleep = Callable[[float], None]


class MalformedLineError(ValueError):
    """A line that is not an ALB access-log entry."""


class ForwardingError(RuntimeError):
    """Some lines could not be delivered; raised so the invocation fails (and is redirected)."""


# --- Parsing ---------------------------------------------------------------------------------


def split_fields(line: str) -> list[str | None]:
    """The line's fields, quotes removed and escapes undone; ``-`` (absent) becomes None."""
    fields: list[str | None] = []
    pos, end = 0, len(line)
    while pos < end:
        match = _FIELD.match(line, pos)
        if match is None:
            raise MalformedLineError(f"unparseable field at character {pos}")
        quoted = match.group("quoted")
        value = _ESCAPE.sub(r"\1", quoted) if quoted is not None else match.group("bare")
        fields.append(None if value == "-" else value)
        pos = match.end()
        while pos < end and line[pos] == " ":
            pos += 1
    return fields


def timestamp_ms(iso_time: str) -> int:
    """Epoch milliseconds of an ALB ISO 8601 time such as ``2018-07-02T22:23:00.186641Z``."""
    moment = datetime.fromisoformat(iso_time)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return (moment - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(milliseconds=1)


def _host_port(value: str | None, name: str) -> dict[str, Any]:
    """``10.0.0.1:80`` -> ip and port; the port is after the last colon (IPv6 addresses too)."""
    if value is None:
        return {f"{name}_ip": None, f"{name}_port": None}
    ip, sep, port = value.rpartition(":")
    if not sep or not ip or not port.isdigit():
        raise MalformedLineError(f"{name}:port is not ip:port")
    return {f"{name}_ip": ip.strip("[]"), f"{name}_port": int(port)}


def _request_parts(request: str | None) -> dict[str, str | None]:
    """``GET http://host:80/path HTTP/1.1`` -> verb, url and protocol (``- - -`` -> None)."""
    verb, _, rest = (request or "").strip().partition(" ")
    url, _, proto = rest.rpartition(" ") if " " in rest else (rest, "", "")
    return {
        "request_verb": verb if verb not in ("", "-") else None,
        "request_url": url if url not in ("", "-") else None,
        "request_proto": proto if proto not in ("", "-") else None,
    }


def _number(name: str, value: str | None) -> int | float | None:
    if value is None:
        return None
    try:
        return float(value) if name in FLOAT_FIELDS else int(value)
    except ValueError:
        raise MalformedLineError(f"{name} is not a number") from None


def parse_line(line: str) -> dict[str, Any]:
    """One ALB access-log line as a dict of AWS's field names; raises MalformedLineError.

    Absent values (``-``) are None; times stay ISO 8601 strings; processing times are floats
    (-1 when the load balancer could not dispatch the request, as AWS logs it); status codes,
    byte counts and the rule priority are ints. Fields after the known ones, which AWS may add,
    are kept in ``extra_fields``.
    """
    fields = split_fields(line.strip())
    if len(fields) < len(REQUIRED_FIELDS):
        raise MalformedLineError(
            f"{len(fields)} fields, an ALB entry has at least {len(REQUIRED_FIELDS)}"
        )
    known = REQUIRED_FIELDS + OPTIONAL_FIELDS
    values = dict(zip(known, fields, strict=False))
    record: dict[str, Any] = {}
    for name in known:
        value = values.get(name)
        if name == "client:port":
            record.update(_host_port(value, "client"))
        elif name == "target:port":
            record.update(_host_port(value, "target"))
        elif name in FLOAT_FIELDS or name in INT_FIELDS:
            record[name] = _number(name, value)
        else:
            record[name] = value
        if name == "request":
            record.update(_request_parts(value))
    if record["time"] is None:
        raise MalformedLineError("time is absent")
    try:
        timestamp_ms(record["time"])
    except ValueError:
        raise MalformedLineError("time is not an ISO 8601 time") from None
    record["extra_fields"] = fields[len(known) :]
    return record


# --- Batching --------------------------------------------------------------------------------


def fit_message(message: str) -> str:
    """The message, cut at a character boundary and marked if it exceeds one event's limit."""
    encoded = message.encode("utf-8")
    if len(encoded) <= MAX_EVENT_MESSAGE_BYTES:
        return message
    room = MAX_EVENT_MESSAGE_BYTES - len(TRUNCATION_MARKER.encode("utf-8"))
    return encoded[:room].decode("utf-8", errors="ignore") + TRUNCATION_MARKER


def make_batches(events: Iterable[Event]) -> list[list[Event]]:
    """PutLogEvents batches: sorted by time, each within the count, size and 24-hour limits."""
    batches: list[list[Event]] = []
    batch: list[Event] = []
    size = 0
    for ts, raw_message in sorted(events, key=lambda event: event[0]):
        message = fit_message(raw_message)
        cost = len(message.encode("utf-8")) + EVENT_OVERHEAD_BYTES
        if batch and (
            len(batch) == MAX_BATCH_EVENTS
            or size + cost > MAX_BATCH_BYTES
            or ts - batch[0][0] >= MAX_BATCH_SPAN_MS
        ):
            batches.append(batch)
            batch, size = [], 0
        batch.append((ts, message))
        size += cost
    if batch:
        batches.append(batch)
    return batches


def stream_name_for(key: str) -> str:
    """A log stream name for an object key: ``/`` ``:`` ``*`` replaced, at most 512 characters."""
    name = re.sub(r"[/:*]", "_", key) or "_"
    if len(name) <= MAX_STREAM_NAME_CHARS:
        return name
    digest = hashlib.sha256(key.encode("utf-8")).hexdigest()[:16]
    return f"{digest}_{name[-(MAX_STREAM_NAME_CHARS - len(digest) - 1) :]}"


# --- Sending ---------------------------------------------------------------------------------


def _error_code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def call_with_retries(
    call: Callable[..., Any],
    *,
    sleep: Sleep = time.sleep,
    max_attempts: int = MAX_ATTEMPTS,
    **kwargs: Any,
) -> Any:
    """``call(**kwargs)``, retrying throttling, unavailability and connection errors.

    Exponential backoff with full jitter, at most ``max_attempts`` calls; the last error is
    raised. Any other error is raised at once.
    """
    for attempt in range(1, max_attempts + 1):
        try:
            return call(**kwargs)
        except ClientError as error:
            if _error_code(error) not in RETRYABLE_CODES or attempt == max_attempts:
                raise
            reason = _error_code(error)
        except (BotocoreConnectionError, HTTPClientError) as error:
            if attempt == max_attempts:
                raise
            reason = type(error).__name__
        delay = random.uniform(0, min(MAX_DELAY_S, BASE_DELAY_S * 2 ** (attempt - 1)))
        LOG.info("retrying after %s (attempt %d of %d)", reason, attempt, max_attempts)
        sleep(delay)
    raise AssertionError("unreachable")  # pragma: no cover


def ensure_log_stream(logs: Any, log_group: str, log_stream: str, *, sleep: Sleep) -> None:
    """Create the stream; one that exists already (a re-delivered event) is fine."""
    try:
        call_with_retries(
            logs.create_log_stream, sleep=sleep, logGroupName=log_group, logStreamName=log_stream
        )
    except ClientError as error:
        if _error_code(error) != "ResourceAlreadyExistsException":
            raise


def send_batch(
    logs: Any, log_group: str, log_stream: str, batch: list[Event], *, sleep: Sleep
) -> None:
    """PutLogEvents for one batch (no sequence token: PutLogEvents ignores it now)."""
    response = call_with_retries(
        logs.put_log_events,
        sleep=sleep,
        logGroupName=log_group,
        logStreamName=log_stream,
        logEvents=[{"timestamp": ts, "message": message} for ts, message in batch],
    )
    rejected = (response or {}).get("rejectedLogEventsInfo")
    if rejected:
        # Too old (14 days, or the group's retention) or more than 2 hours in the future.
        LOG.warning("CloudWatch Logs rejected events of %s: %s", log_stream, json.dumps(rejected))


# --- Per object and handler ------------------------------------------------------------------


def read_lines(s3: Any, bucket: str, key: str) -> list[str]:
    """The object's lines, gunzipped; bytes that are not UTF-8 are replaced."""
    body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    return gzip.decompress(body).decode("utf-8", errors="replace").splitlines()


def forward_object(
    s3: Any, logs: Any, bucket: str, key: str, log_group: str, *, sleep: Sleep = time.sleep
) -> dict[str, Any]:
    """Parse one access-log object and send its lines; returns the summary it logs.

    Raises ForwardingError if any batch could not be sent, after trying every batch.
    """
    events: list[Event] = []
    lines = skipped = 0
    for number, line in enumerate(read_lines(s3, bucket, key), start=1):
        if not line.strip():
            continue
        lines += 1
        try:
            record = parse_line(line)
        except MalformedLineError as error:
            skipped += 1
            LOG.warning(
                "skipping malformed line %d of s3://%s/%s (%s): %r",
                number,
                bucket,
                key,
                error,
                line[:WARNING_EXCERPT_CHARS],
            )
            continue
        message = json.dumps(record, ensure_ascii=False, separators=(",", ":"))
        events.append((timestamp_ms(record["time"]), message))

    log_stream = stream_name_for(key)
    batches = make_batches(events)
    sent = failed_batches = 0
    errors: list[str] = []
    if batches:
        ensure_log_stream(logs, log_group, log_stream, sleep=sleep)
    for batch in batches:
        try:
            send_batch(logs, log_group, log_stream, batch, sleep=sleep)
        except (ClientError, BotocoreConnectionError, HTTPClientError) as error:
            failed_batches += 1
            errors.append(str(error))
            LOG.error("batch of %d events for %s failed: %s", len(batch), log_stream, error)
        else:
            sent += len(batch)

    summary = {
        "bucket": bucket,
        "key": key,
        "log_group": log_group,
        "log_stream": log_stream,
        "lines": lines,
        "parsed": len(events),
        "skipped": skipped,
        "events_sent": sent,
        "batches": len(batches),
        "failed_batches": failed_batches,
    }
    LOG.info(json.dumps(summary))
    if failed_batches:
        raise ForwardingError(
            f"s3://{bucket}/{key}: {failed_batches} of {len(batches)} batches not delivered "
            f"to {log_group}: {errors[-1]}"
        )
    return summary


_CLIENTS: dict[str, Any] = {}
# botocore's own retries stay on for S3 (standard mode); for CloudWatch Logs they are off, so
# that call_with_retries is the one policy there (and a throttled call is not retried 3 x 5).
_CLIENT_RETRIES = {
    "s3": {"mode": "standard"},
    "logs": {"mode": "standard", "total_max_attempts": 1},
}


def client(service: str) -> Any:
    """A boto3 client, created on first use (not at import, so tests can set up moto first)."""
    if service not in _CLIENTS:
        config = Config(retries=_CLIENT_RETRIES[service])
        _CLIENTS[service] = boto3.client(service, config=config)
    return _CLIENTS[service]


def objects_in(event: dict[str, Any]) -> list[tuple[str, str]]:
    """(bucket, key) of each S3 record; keys arrive URL-encoded, ``+`` for a space."""
    return [
        (record["s3"]["bucket"]["name"], unquote_plus(record["s3"]["object"]["key"]))
        for record in event.get("Records", [])
        if "s3" in record
    ]


def handler(event: dict[str, Any], context: object) -> dict[str, Any]:
    """Lambda entry point for S3 ObjectCreated events."""
    log_group = os.environ.get("LOG_GROUP_NAME", "")
    if not log_group:
        raise ForwardingError("LOG_GROUP_NAME is not set")
    summaries: list[dict[str, Any]] = []
    failures: list[str] = []
    for bucket, key in objects_in(event):
        if not key.endswith(LOG_FILE_SUFFIX):
            # e.g. the ELBAccessLogTestFile the load balancer writes when logging is enabled
            LOG.info(
                "ignoring s3://%s/%s: not an access-log file (*%s)", bucket, key, LOG_FILE_SUFFIX
            )
            continue
        try:
            summaries.append(forward_object(client("s3"), client("logs"), bucket, key, log_group))
        except (ForwardingError, ClientError, BotocoreConnectionError, HTTPClientError) as error:
            failures.append(f"s3://{bucket}/{key}: {error}")
            LOG.error("failed to forward s3://%s/%s: %s", bucket, key, error)
        except (OSError, EOFError, zlib.error) as error:  # not gzip, truncated or corrupt
            failures.append(f"s3://{bucket}/{key}: unreadable gzip: {error}")
            LOG.error("s3://%s/%s is not a readable gzip file: %s", bucket, key, error)
    if failures:
        raise ForwardingError(f"{len(failures)} object(s) not fully forwarded: {failures}")
    return {"objects": summaries}
