"""Delivery to CloudWatch Logs: the log stream made, each batch sent with PutLogEvents, and
throttling, unavailability and connection errors retried (exponential backoff, full jitter).
"""

from __future__ import annotations

import json
import logging
import random
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError, HTTPClientError
from botocore.exceptions import ConnectionError as BotocoreConnectionError

# A sibling module: relative here, top-level in Lambda (functions/__init__.py).
if TYPE_CHECKING or __package__:
    from . import log_batches
else:
    import log_batches

LOG = logging.getLogger(__name__)
LOG.setLevel(logging.INFO)  # as the handler's: retries are logged whatever the root's level

# --- Retries of throttling and unavailability, with exponential backoff and full jitter ------
RETRYABLE_CODES = frozenset({"ThrottlingException", "ServiceUnavailableException"})
MAX_ATTEMPTS = 5
BASE_DELAY_S = 0.25
MAX_DELAY_S = 8.0

Sleep = Callable[[float], None]


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
    logs: Any, log_group: str, log_stream: str, batch: list[log_batches.Event], *, sleep: Sleep
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
