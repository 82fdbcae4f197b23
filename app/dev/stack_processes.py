"""The local stack's processes as /proc shows them: whether one is still running, which
members of a process group are, signalling a whole group, and waiting for a condition with a
deadline. Linux only, as `make dev` is.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

from local_stack import StackError


def proc_stat(pid: int) -> list[str] | None:
    """/proc/<pid>/stat after the command name (state, ppid, pgrp, ...); None: no such process."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None


def is_running(pid: int) -> bool:
    fields = proc_stat(pid)
    return fields is not None and fields[0] != "Z"  # a zombie has exited


def live_group_members(pgid: int) -> list[int]:
    """Processes of process group `pgid` that are still running."""
    members = []
    for entry in Path("/proc").glob("[0-9]*"):
        fields = proc_stat(int(entry.name))
        if fields is not None and int(fields[2]) == pgid and fields[0] != "Z":
            members.append(int(entry.name))
    return members


def signal_group(pgid: int, signum: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, signum)


def wait_until(condition: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def check_running(processes: list[tuple[str, subprocess.Popen[bytes] | None]]) -> None:
    for name, process in processes:
        if process is not None and process.poll() is not None:
            raise StackError(f"{name} exited with code {process.returncode}")
