"""Client threads that create payments back to back, recording what the API acknowledged."""

from __future__ import annotations

import threading
import time
import uuid
from dataclasses import dataclass

import httpx2

REQUEST_TIMEOUT_SECONDS = 30.0
# Hex digits as the letters a-p: a key with no digits, which the API's card-number rule never
# refuses (a random UUID's digits hold a card number about once in 1,300: docs/security.md).
_HEX_AS_LETTERS = str.maketrans("0123456789abcdef", "abcdefghijklmnop")


def _letters(hex_digits: str) -> str:
    return hex_digits.translate(_HEX_AS_LETTERS)


BODY = {"amount_minor": 1999, "currency": "USD", "merchant_reference": "container-test"}


@dataclass(frozen=True)
class Outcome:
    """One request: its idempotency key, when its answer (or error) came, and what it was."""

    idempotency_key: str
    finished: float  # time.monotonic()
    status: int | None  # None: no HTTP answer
    payment_id: str | None
    retry_after: str | None  # the Retry-After header of a refusal
    error: str | None


class PaymentLoad:
    """``threads`` clients POSTing /api/payments with new idempotency keys until ``finish()``
    or until a request gets no answer (the server has gone), each request authenticated with
    ``api_key`` (``Authorization: Bearer``). Certificates are not verified, as the ALB does not
    verify its targets."""

    def __init__(self, base_url: str, api_key: str, threads: int = 4) -> None:
        self.base_url = base_url
        self._headers = {"Authorization": f"Bearer {api_key}"}
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._outcomes: list[Outcome] = []
        self._threads = [
            threading.Thread(target=self._post_until_stopped, name=f"payments-{n}", daemon=True)
            for n in range(threads)
        ]

    @property
    def outcomes(self) -> list[Outcome]:
        with self._lock:
            return list(self._outcomes)

    def acknowledged(self) -> list[Outcome]:
        """The requests the API answered 201 Created: payments it promised exist."""
        return [o for o in self.outcomes if o.status == 201]

    def acknowledged_ids(self) -> set[str]:
        return {o.payment_id for o in self.acknowledged() if o.payment_id}

    def start(self) -> None:
        for thread in self._threads:
            thread.start()

    def wait_for_acknowledged(self, count: int, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while len(self.acknowledged()) < count:
            failures = [o for o in self.outcomes if o.status != 201]
            if failures or time.monotonic() > deadline:
                raise AssertionError(
                    f"{len(self.acknowledged())} of {count} payments acknowledged within "
                    f"{timeout} s; other outcomes: {failures[:5]}"
                )
            time.sleep(0.05)

    def finish(self, timeout: float) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout)
        alive = [t.name for t in self._threads if t.is_alive()]
        if alive:
            raise AssertionError(f"client threads still running after {timeout} s: {alive}")

    def _record(self, outcome: Outcome) -> None:
        with self._lock:
            self._outcomes.append(outcome)

    def _post_until_stopped(self) -> None:
        with httpx2.Client(
            base_url=self.base_url,
            verify=False,
            timeout=REQUEST_TIMEOUT_SECONDS,
            headers=self._headers,
        ) as client:
            while not self._stop.is_set():
                key = f"container-{_letters(uuid.uuid4().hex)}"
                try:
                    response = client.post(
                        "/api/payments", json=BODY, headers={"Idempotency-Key": key}
                    )
                except httpx2.TransportError as error:
                    self._record(Outcome(key, time.monotonic(), None, None, None, repr(error)))
                    return
                created = response.status_code == 201
                self._record(
                    Outcome(
                        key,
                        time.monotonic(),
                        response.status_code,
                        response.json()["id"] if created else None,
                        response.headers.get("retry-after"),
                        None if created else response.text[:200],
                    )
                )
