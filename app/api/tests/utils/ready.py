"""Waiting for an in-process API (TestClient) to be ready."""

import time

from fastapi.testclient import TestClient
from payments_local_servers.api import READY_TIMEOUT_SECONDS


def wait_until_ready(client: TestClient, timeout: float = READY_TIMEOUT_SECONDS) -> TestClient:
    """Poll /readyz until it answers 200, and return the client. The lifespan opens the pool
    without waiting for it, so a request right after start-up races the pool's first connection
    (and the migration); `timeout` only bounds a failure."""
    deadline = time.monotonic() + timeout
    while True:
        response = client.get("/readyz")
        if response.status_code == 200:
            return client
        if time.monotonic() > deadline:
            raise RuntimeError(f"API not ready after {timeout} s: {response.text}")
        time.sleep(0.1)
