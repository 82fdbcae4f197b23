"""Ship an Application Load Balancer's S3 access-log files into a CloudWatch Logs group.

Triggered by the log bucket's ``s3:ObjectCreated:*`` events. For each object: read it,
gunzip it, parse every line (AWS's documented ALB access-log format), and write one JSON
document per line to the log group named by ``LOG_GROUP_NAME``, in a log stream of its own
named after the object key. Standard library and boto3 only: what the Lambda runtime has.

A malformed line is logged (object key, line number, its first 200 characters) and skipped.
A permanent failure (a batch that still fails after the retries, an unreadable object) is
raised once everything else has been processed, so the asynchronous invocation fails and
goes to the function's on-failure destination.

The work is in three sibling modules: access_log_format (parsing a line), log_batches
(PutLogEvents batches and the stream's name) and log_delivery (sending, with retries). This
module reads each object and runs them, and holds the entry point and the AWS clients.
"""

from __future__ import annotations

import gzip
import json
import logging
import os
import time
import zlib
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote_plus

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError, HTTPClientError
from botocore.exceptions import ConnectionError as BotocoreConnectionError

# Sibling modules: relative here, top-level in Lambda (functions/__init__.py).
if TYPE_CHECKING or __package__:
    from . import access_log_format, log_batches, log_delivery
else:
    import access_log_format
    import log_batches
    import log_delivery

LOG = logging.getLogger(__name__)
LOG.setLevel(logging.INFO)

WARNING_EXCERPT_CHARS = 200
LOG_FILE_SUFFIX = ".log.gz"  # ALB access-log objects: ..._<random-string>.log.gz


class ForwardingError(RuntimeError):
    """Some lines could not be delivered; raised so the invocation fails (and is redirected)."""


# --- Per object ----------------------------------------------------------------------------


def read_lines(s3: Any, bucket: str, key: str) -> list[str]:
    """The object's lines, gunzipped; bytes that are not UTF-8 are replaced."""
    body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    return gzip.decompress(body).decode("utf-8", errors="replace").splitlines()


def forward_object(
    s3: Any,
    logs: Any,
    bucket: str,
    key: str,
    log_group: str,
    *,
    sleep: log_delivery.Sleep = time.sleep,
) -> dict[str, Any]:
    """Parse one access-log object and send its lines; returns the summary it logs.

    Raises ForwardingError if any batch could not be sent, after trying every batch.
    """
    events: list[log_batches.Event] = []
    lines = skipped = 0
    for number, line in enumerate(read_lines(s3, bucket, key), start=1):
        if not line.strip():
            continue
        lines += 1
        try:
            record = access_log_format.parse_line(line)
        except access_log_format.MalformedLineError as error:
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
        events.append((access_log_format.timestamp_ms(record["time"]), message))

    log_stream = log_batches.stream_name_for(key)
    batches = log_batches.make_batches(events)
    sent = failed_batches = 0
    errors: list[str] = []
    if batches:
        log_delivery.ensure_log_stream(logs, log_group, log_stream, sleep=sleep)
    for batch in batches:
        try:
            log_delivery.send_batch(logs, log_group, log_stream, batch, sleep=sleep)
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


# --- The handler and its clients -------------------------------------------------------------

_CLIENTS: dict[str, Any] = {}
# botocore's own retries stay on for S3 (standard mode); for CloudWatch Logs they are off, so
# that log_delivery.call_with_retries is the one policy there (and a throttled call is not
# retried 3 x 5).
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
