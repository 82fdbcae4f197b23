"""`python -m payments_api.migrate` as a deploy runs it: a process from app/api with the
environment given and nothing else of this one's (a DATABASE_URL here would win)."""

import os
import subprocess
import sys
from collections.abc import Mapping

from payments_local_servers.api import API_DIR

COMMAND = [sys.executable, "-m", "payments_api.migrate"]
TIMEOUT_SECONDS = 120.0  # bounds a failure only


def _env(env: Mapping[str, str]) -> dict[str, str]:
    return {"PATH": os.environ["PATH"], "PYTHONDONTWRITEBYTECODE": "1", **env}


def run_migrate(env: Mapping[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        COMMAND,
        cwd=API_DIR,
        env=_env(env),
        capture_output=True,
        text=True,
        timeout=TIMEOUT_SECONDS,
        check=False,
    )


def start_migrate(env: Mapping[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        COMMAND,
        cwd=API_DIR,
        env=_env(env),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
