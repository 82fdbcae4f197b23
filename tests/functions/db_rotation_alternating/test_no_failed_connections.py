"""functions/db_rotation with alternating users: no connection fails while the rotations run,
whether the API's tasks log in between the steps or from a thread during them."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import psycopg
import pytest
from payments_local_servers.secrets_rotation import STEPS, SecretsManagerRotation

from functions.db_rotation import handler as rotation
from tests.functions.db_rotation_alternating.alternating_rig import (
    APP_USER,
    REGION,
    Rig,
)

# Bounds on waiting for the prober thread: they only end a test that already failed.
THREAD_WAIT_SECONDS = 60


# --- Zero failed connections ---------------------------------------------------------------------


def reason(error: psycopg.Error) -> str:
    """A failure in a few words, without the message's user name."""
    if "password authentication failed" in str(error):
        return "password refused"
    return f"{type(error).__name__} {error.sqlstate}"


@dataclass
class Prober:
    """What the API's tasks do during a rotation: new connections with the credentials
    AWSCURRENT has at that moment, new connections with credentials read before the
    rotation began (a task that read the secret when it started), and queries on a
    connection opened before it (a pool's). Records every failure; never raises."""

    rig: Rig
    arn: str | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)
    cached: dict[str, Any] | None = None
    long_lived: psycopg.Connection[Any] | None = None
    rounds: int = 0
    logins: int = 0
    failures: list[str] = field(default_factory=list)

    def begin_rotation(self) -> None:
        """The credentials a task read just before this rotation, and its pool's connection
        (opened once, before the first rotation)."""
        with self.lock:
            self.cached = self.rig.current(self.arn)
        if self.long_lived is None:
            self.long_lived = self.rig.connect(self.cached)

    def probe(self, moment: str) -> None:
        with self.lock:  # moto is not thread-safe; Secrets Manager's calls are atomic
            documents = {"AWSCURRENT": self.rig.current(self.arn), "cached": self.cached}
        for source, document in documents.items():
            if document is None:
                continue
            try:
                with self.rig.connect(document) as conn:
                    conn.execute("SELECT count(*) FROM payments").fetchone()
            except psycopg.Error as error:
                self.failures.append(f"{moment}: login with {source}: {reason(error)}")
            else:
                self.logins += 1
        if self.long_lived is not None:
            try:
                self.long_lived.execute("SELECT count(*) FROM payments").fetchone()
            except psycopg.Error as error:
                self.failures.append(f"{moment}: the long-lived connection: {reason(error)}")
        self.rounds += 1

    def close(self) -> None:
        if self.long_lived is not None:
            self.long_lived.close()


@pytest.fixture
def prober(rig: Rig) -> Iterator[Prober]:
    """A prober of the app login's secret; its long-lived connection closed at the end."""
    prober = Prober(rig)
    yield prober
    prober.close()


def test_no_connection_fails_while_steps_and_logins_interleave(rig: Rig, prober: Prober) -> None:
    users = []
    for _ in range(2):  # to the clone, and back
        prober.begin_rotation()
        rig.rotations.start()
        prober.probe("after start")
        for step in STEPS:
            rig.rotations.step(step)
            prober.probe(f"after {step}")
        users.append(rig.current()["username"])
    assert users == [f"{APP_USER}_clone", APP_USER]
    assert prober.failures == []
    assert prober.rounds == 2 * 5 and prober.logins == 2 * prober.rounds


def test_the_prober_sees_a_single_user_rotation_refuse_connections(
    rig: Rig, prober: Prober
) -> None:
    # The same probes on the master's secret, which rotates single-user: between setSecret
    # and finishSecret AWSCURRENT's password no longer logs in, and a task's cached one never
    # does again. What alternating users avoid, and the proof that the prober can fail.
    prober.arn = rig.master_arn
    prober.begin_rotation()
    master_rotations = SecretsManagerRotation(rig.master_arn, rotation.handler, region=REGION)
    master_rotations.start()
    for step in STEPS:
        master_rotations.step(step)
        prober.probe(f"after {step}")
    assert prober.failures == [
        "after setSecret: login with AWSCURRENT: password refused",
        "after setSecret: login with cached: password refused",
        "after testSecret: login with AWSCURRENT: password refused",
        "after testSecret: login with cached: password refused",
        "after finishSecret: login with cached: password refused",
    ]


def test_no_connection_fails_while_a_thread_logs_in_during_the_rotations(
    rig: Rig, prober: Prober
) -> None:
    """One thread probes in a loop while this one runs two rotations, step by step; before
    each step it waits for the thread to have probed a few more times (counted, not timed),
    and the thread stops once this one has finished and it has probed enough."""
    finished = threading.Event()
    progress = threading.Condition()
    crashed: list[BaseException] = []
    minimum_rounds = 20  # at least PER_STEP before each of the 8 steps, and more after
    per_step = 2

    def loop() -> None:
        try:
            while not (finished.is_set() and prober.rounds >= minimum_rounds):
                prober.probe("thread")
                with progress:
                    progress.notify_all()
        except BaseException as error:  # the test fails on it, below
            crashed.append(error)
            with progress:
                progress.notify_all()

    def wait_for_rounds(count: int) -> None:
        with progress:
            reached = progress.wait_for(
                lambda: prober.rounds >= count or bool(crashed), timeout=THREAD_WAIT_SECONDS
            )
        assert reached and not crashed, (prober.rounds, crashed)

    prober.begin_rotation()
    thread = threading.Thread(target=loop, name="prober", daemon=True)
    thread.start()
    users = []
    try:
        for _ in range(2):  # to the clone, and back
            with prober.lock:
                prober.cached = rig.current()
                rig.rotations.start()
            for step in STEPS:
                wait_for_rounds(prober.rounds + per_step)
                with prober.lock:
                    rig.rotations.step(step)
            users.append(rig.current()["username"])
    finally:
        finished.set()
        thread.join(THREAD_WAIT_SECONDS)
    assert not thread.is_alive() and not crashed, crashed
    assert users == [f"{APP_USER}_clone", APP_USER]
    assert prober.failures == []
    assert prober.rounds >= minimum_rounds
    assert prober.logins == 2 * prober.rounds  # AWSCURRENT's and the cached credentials
