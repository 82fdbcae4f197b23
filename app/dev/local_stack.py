"""What the parts of `make dev` (app/dev) share: where the web app is, the loopback address
every server of the local stack binds to, how long stopping one may take, and StackError, the
failure `make dev` reports in one sentence.
"""

from __future__ import annotations

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
WEB_DIR = REPO_ROOT / "app" / "web"
HOST = "127.0.0.1"
STOP_SECONDS = 10.0


class StackError(Exception):
    """A failure to report as `make dev: <message>.`, without a traceback: what to install or
    change, or which server failed (with the end of its log)."""
