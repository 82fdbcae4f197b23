"""The ``rig`` fixture of the migration runner's tests: the handler with stubbed ECS and
CloudWatch Logs clients in its client cache, every queued answer asked for by the end."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from functions.db_migration_runner import handler as runner
from tests.aws_stubs import stubbed
from tests.functions.db_migration_runner.runner_rig import REGION, FakeContext, FakeTime, Rig


@pytest.fixture
def rig(monkeypatch: pytest.MonkeyPatch) -> Iterator[Rig]:
    monkeypatch.setenv("AWS_REGION", REGION)
    ecs, ecs_stub = stubbed("ecs")
    logs, logs_stub = stubbed("logs")
    monkeypatch.setattr(runner, "_CLIENTS", {"ecs": ecs, "logs": logs})
    with ecs_stub, logs_stub:
        yield Rig(ecs_stub, logs_stub, FakeTime(), FakeContext())
        # Every queued answer was asked for (in the order queued).
        ecs_stub.assert_no_pending_responses()
        logs_stub.assert_no_pending_responses()
