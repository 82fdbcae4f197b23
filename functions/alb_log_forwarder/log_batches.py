"""Events shaped for CloudWatch Logs: PutLogEvents batches within the API's limits, and a
log stream name for an object key (CloudWatch Logs API reference, PutLogEvents and
CreateLogStream)."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable

# --- PutLogEvents limits (CloudWatch Logs API reference, PutLogEvents) -----------------------
MAX_BATCH_EVENTS = 10_000
MAX_BATCH_BYTES = 1_048_576  # sum over the batch of len(message in UTF-8) + 26
EVENT_OVERHEAD_BYTES = 26
MAX_EVENT_MESSAGE_BYTES = MAX_BATCH_BYTES - EVENT_OVERHEAD_BYTES
MAX_BATCH_SPAN_MS = 24 * 60 * 60 * 1000  # a batch must not span more than 24 hours
TRUNCATION_MARKER = " ...[truncated by alb_log_forwarder]"

# --- CreateLogStream: 1-512 characters, no ':' or '*' ----------------------------------------
MAX_STREAM_NAME_CHARS = 512

Event = tuple[int, str]  # (timestamp in epoch milliseconds, message)


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
