"""One-off tasks as the deploy and the operator run them, each of its own recorded task
definition: the migrations as they are, the key CLI with its command overridden; and the key a
``create`` prints."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from tests.container.fargate import (
    CompletedTask,
    Docker,
    FargateContainer,
    SecretsManagerStand,
    TaskDefinition,
)

# A one-off task of the keys CLI: Python's start, one TLS connection, a few statements.
ONE_OFF_TIMEOUT_SECONDS = 60.0
KEYS = ("python", "-m", "payments_api.cli.api_keys")
# The key's documented form (payments_api/auth.py): pay_<12 hex digits>_<43 urlsafe base64>.
KEY_FORM = re.compile(r"pay_(?P<prefix>[0-9a-f]{12})_(?P<secret>[A-Za-z0-9_-]{43})")


@dataclass(frozen=True)
class OneOffTasks:
    """The deploy's migration task and the operator's key tasks, each of its own recorded
    task definition."""

    docker: Docker
    migrations_task: TaskDefinition
    keys_task: TaskDefinition
    image: str
    secrets: SecretsManagerStand
    read_only_files: Mapping[str, Path]

    def _run(self, task: TaskDefinition, command: Sequence[str] = ()) -> CompletedTask:
        with FargateContainer(
            self.docker,
            task,
            self.image,
            self.secrets,
            read_only_files=self.read_only_files,
            command=command,
        ) as container:
            return container.run_to_completion(ONE_OFF_TIMEOUT_SECONDS)

    def migrate(self) -> CompletedTask:
        """The deploy's migration task: its task definition as it is, no override."""
        return self._run(self.migrations_task)

    def keys(self, *args: str) -> CompletedTask:
        """The key CLI as the operator runs it: the key task with a command override."""
        return self._run(self.keys_task, (*KEYS, *args))


def create_key(one_off_tasks: OneOffTasks, client_id: str) -> tuple[CompletedTask, str]:
    """(the one-off task, the key it printed): its stdout must be the key alone, one line."""
    created = one_off_tasks.keys("create", client_id)
    assert (created.exit_code, created.oom_killed) == (0, False), created
    lines = created.stdout.splitlines()
    assert len(lines) == 1, f"stdout is not one line: {len(lines)} lines; stderr:\n{created.stderr}"
    (key,) = lines
    assert KEY_FORM.fullmatch(key), f"stdout is not a key of the documented form: {key!r}"
    return created, key
