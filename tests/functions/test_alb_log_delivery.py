"""functions/alb_log_forwarder, log_delivery: throttling, unavailability and connection errors
retried with backoff and full jitter, without real sleeping; other errors raised at once."""

from __future__ import annotations

import random

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError

from functions.alb_log_forwarder import log_delivery
from functions.alb_log_forwarder.log_delivery import call_with_retries, send_batch
from tests.functions.alb_samples import LOG_GROUP, FakeLogs, RecordingSleep, client_error

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

    monkeypatch.setattr(random, "uniform", upper)
    logs, sleep = FakeLogs([client_error("ThrottlingException")] * 7), RecordingSleep()
    call_with_retries(logs.put_log_events, sleep=sleep, max_attempts=8, logEvents=[])
    assert bounds == [(0, 0.25), (0, 0.5), (0, 1.0), (0, 2.0), (0, 4.0), (0, 8.0), (0, 8.0)]
    assert sleep.delays == [high for _, high in bounds]


def test_throttling_that_never_stops_raises_after_the_last_attempt() -> None:
    logs = FakeLogs([client_error("ThrottlingException")] * 10)
    with pytest.raises(ClientError, match="ThrottlingException"):
        send_batch(logs, LOG_GROUP, "stream", [(1, "a")], sleep=RecordingSleep())
    assert logs.put_calls == log_delivery.MAX_ATTEMPTS


def test_an_error_that_is_not_transient_is_raised_without_retrying() -> None:
    logs, sleep = FakeLogs([client_error("InvalidParameterException")]), RecordingSleep()
    with pytest.raises(ClientError, match="InvalidParameterException"):
        send_batch(logs, LOG_GROUP, "stream", [(1, "a")], sleep=sleep)
    assert (logs.put_calls, sleep.delays) == (1, [])
