"""Paths shared by the browser tests. The servers they start (PostgreSQL over TLS, the API over
HTTPS) come from the package payments_local_servers (app/local_servers), installed in .venv."""

from __future__ import annotations

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
