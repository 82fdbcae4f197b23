"""Waiting for a state, never for a time: poll until the state is there; the timeout only
bounds a failure, so it is generous enough for a loaded machine."""

import time
from collections.abc import Callable

STATE_TIMEOUT_SECONDS = 30.0
POLL_SECONDS = 0.02


def wait_for(state: Callable[[], bool], what: str, timeout: float = STATE_TIMEOUT_SECONDS) -> None:
    """Return as soon as `state()` is true; fail, naming `what`, after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not state():
        if time.monotonic() > deadline:
            raise AssertionError(f"not reached within {timeout} s: {what}")
        time.sleep(POLL_SECONDS)
