"""The external commands preflight and its checks run (git, pulumi, docker): one way to run
them, and the type the checks take so tests can answer in their place."""

from __future__ import annotations

import subprocess
from collections.abc import Callable

# A command's output as text; never raises for a non-zero exit (the caller reads it).
Runner = Callable[[list[str]], "subprocess.CompletedProcess[str]"]
TIMEOUT_SECONDS = 60


def run(command: list[str], timeout: float = TIMEOUT_SECONDS) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)
