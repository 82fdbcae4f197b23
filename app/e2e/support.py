"""Paths, a free port and checks shared by the browser tests. The servers they start
(PostgreSQL over TLS, the API over HTTPS) come from the package payments_local_servers
(app/local_servers), installed in .venv."""

from __future__ import annotations

import json
import socket
from pathlib import Path
from typing import Any

from playwright.sync_api import Page

REPO_ROOT = Path(__file__).resolve().parents[2]
E2E_CLIENT = "e2e"
"""The client the browser test's API key belongs to (payments.client_id of what it creates)."""


def free_port() -> int:
    """A loopback port that nothing listens on now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


# Everything a page could have kept, read in the page: web storage, cookies, the URL, history.
_PAGE_STATE = """() => ({
  localStorage: Object.fromEntries(Object.entries(localStorage)),
  sessionStorage: Object.fromEntries(Object.entries(sessionStorage)),
  cookie: document.cookie,
  url: location.href,
  historyState: history.state,
  historyLength: history.length,
})"""


def assert_key_kept_in_memory_only(page: Page, key: str) -> dict[str, Any]:
    """The page used `key` but kept it nowhere else: localStorage and sessionStorage are empty,
    there is no cookie, neither the URL nor the history state has it, nor the browser context's
    stored state (cookies and every origin's localStorage), nor the DOM's markup (the password
    field holds it as its live value, not as an attribute). Returns what was read."""
    state: dict[str, Any] = page.evaluate(_PAGE_STATE)
    assert state["localStorage"] == {}, state
    assert state["sessionStorage"] == {}, state
    assert state["cookie"] == "", state
    assert key not in json.dumps(state), state
    assert key not in json.dumps(page.context.storage_state())
    assert key not in page.content()
    return state
