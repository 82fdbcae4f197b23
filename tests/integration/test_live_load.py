"""Opt-in load step: drive the deployed API until ECS scales out (PAYMENTS_LIVE_LOAD=1).

Bounded on every side: a few threads, at most MAX_REQUESTS requests, at most 10 minutes, each
request at most 10 s, and only the stack's own API (directly, not through CloudFront, whose
WAF rate rule would block one client long before the tasks are busy).
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.integration.live_helpers import Endpoint, LoadGenerator, wait_until

pytestmark = pytest.mark.load

MIN_TASKS = 3
THREADS = 8
DEADLINE_SECONDS = 10 * 60
POLL_SECONDS = 30
MAX_REQUESTS = 250_000


def _desired_count(ecs: Any, stack_outputs: dict[str, Any]) -> int:
    (service,) = ecs.describe_services(
        cluster=stack_outputs["ecs_cluster_name"], services=[stack_outputs["ecs_service_name"]]
    )["services"]
    return int(service["desiredCount"])


def test_load_makes_the_service_scale_out(
    load_opt_in: None,
    ecs: Any,
    stack_outputs: dict[str, Any],
    api_endpoint: Endpoint,
    api_key_headers: dict[str, str],
) -> None:
    before = _desired_count(ecs, stack_outputs)
    if before > MIN_TASKS:
        pytest.skip(
            f"the service already runs {before} tasks (scaled out earlier); wait for it to "
            f"scale in to {MIN_TASKS} (300 s cooldown) and run the load step again"
        )
    generator = LoadGenerator(
        api_endpoint.url("/api/payments?limit=1"),
        api_endpoint.context,
        threads=THREADS,
        max_requests=MAX_REQUESTS,
        headers=api_key_headers,
    )
    counts = [before]

    def scaled_out() -> bool:
        counts.append(_desired_count(ecs, stack_outputs))
        return counts[-1] > MIN_TASKS

    generator.start()
    try:
        met, waited = wait_until(
            scaled_out, deadline_seconds=DEADLINE_SECONDS, poll_seconds=POLL_SECONDS
        )
    finally:
        generator.stop()
    assert met, (
        f"desiredCount stayed at {counts[-1]} for {waited:.0f} s of load "
        f"({generator.summary()} via {api_endpoint.why}); polled counts: {counts}. "
        "Target tracking needs 3 one-minute datapoints above 70% CPU: if the requests mostly "
        "failed, fix that first; if they succeeded, the load was too light for the task size"
    )
