"""A steady load on the real API server (payments_local_servers.api.ApiServer): worker
threads, each POSTing payments one after the other, every outcome recorded; it can pause
between requests, and its waits are for a number of completed requests, failing at once, with
the failures, when a request has failed or a worker or the server has ended.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from dataclasses import dataclass, field

from payments_local_servers.api import REQUEST_TIMEOUT_SECONDS, ApiServer

from tests.utils.payments import new_idempotency_key, payment_body
from tests.utils.waiting import wait_for


@dataclass
class Load:
    """`workers` threads, each POSTing payments one after the other (a new idempotency key
    each) until `stop`, recording every outcome."""

    server: ApiServer
    api_key: str
    workers: int
    stop: threading.Event = field(default_factory=threading.Event)
    statuses: Counter[int] = field(default_factory=Counter)
    completed: list[int] = field(default_factory=list)
    created: dict[str, str] = field(default_factory=dict)  # idempotency key -> payment id
    failures: list[str] = field(default_factory=list)
    slowest: float = 0.0  # seconds, the longest request
    in_flight: int = 0
    paused: bool = False
    _lock: threading.Condition = field(default_factory=threading.Condition)
    _threads: list[threading.Thread] = field(default_factory=list)

    def start(self) -> None:
        self.completed = [0] * self.workers
        for index in range(self.workers):
            thread = threading.Thread(target=self._work, args=(index,), name=f"load-{index}")
            self._threads.append(thread)
            thread.start()

    def _work(self, index: int) -> None:
        try:
            with self.server.client(self.api_key) as client:
                while self._next_request():
                    key = new_idempotency_key(f"rotation-load-{index}")
                    sent = time.monotonic()
                    try:
                        response = client.post(
                            "/api/payments",
                            json=payment_body(merchant_reference=f"load-{index}"),
                            headers={"Idempotency-Key": key},
                        )
                    finally:
                        with self._lock:
                            self.in_flight -= 1
                    with self._lock:
                        self.slowest = max(self.slowest, time.monotonic() - sent)
                        self.statuses[response.status_code] += 1
                        self.completed[index] += 1
                        if response.status_code == 201:
                            self.created[key] = str(response.json()["id"])
                        else:
                            self.failures.append(
                                f"worker {index}: HTTP {response.status_code} {response.text}"
                            )
        except Exception as error:  # any exception is a failure of the run: recorded, shown
            with self._lock:
                self.failures.append(f"worker {index}: {type(error).__name__}: {error}")

    def _next_request(self) -> bool:
        """Whether to send another request (False once stopped); waits while paused."""
        with self._lock:
            self._lock.wait_for(lambda: not self.paused or self.stop.is_set())
            if self.stop.is_set():
                return False
            self.in_flight += 1
            return True

    def pause(self) -> None:
        """Let the requests in flight end, and send no other until `resume`."""
        with self._lock:
            self.paused = True

        def idle() -> bool:
            self._check("for the requests in flight to end")
            with self._lock:
                return self.in_flight == 0

        wait_for(idle, "no request in flight")

    def resume(self) -> None:
        with self._lock:
            self.paused = False
            self._lock.notify_all()

    def _check(self, what: str) -> None:
        """Fail at once, with what went wrong, when a request failed or a worker ended."""
        with self._lock:
            failures = list(self.failures)
        if failures:
            shown = "\n".join(failures[:10])
            raise AssertionError(
                f"{len(failures)} failed requests or workers while waiting {what}, first:\n{shown}"
            )
        assert self.server.process is not None
        if self.server.process.poll() is not None:
            raise AssertionError(f"the API server exited {what}:\n{self.server.output()}")

    def successes(self) -> int:
        with self._lock:
            return self.statuses[201]

    def wait_for_successes(self, count: int, what: str) -> None:
        def reached() -> bool:
            self._check(what)
            return self.successes() >= count

        wait_for(reached, f"{count} successful payments {what}")

    def wait_for_each_worker(self, more: int, what: str) -> None:
        """Every worker completes `more` requests from now: the traffic overlaps `what`."""
        with self._lock:
            start = list(self.completed)

        def reached() -> bool:
            self._check(what)
            with self._lock:
                return all(
                    now - then >= more for now, then in zip(self.completed, start, strict=True)
                )

        wait_for(reached, f"{more} more requests by each of {self.workers} workers {what}")

    def finish(self) -> None:
        self.stop.set()
        self.resume()
        for thread in self._threads:
            thread.join(REQUEST_TIMEOUT_SECONDS + 5)
        alive = [thread.name for thread in self._threads if thread.is_alive()]
        assert not alive, f"workers did not stop: {alive}"
