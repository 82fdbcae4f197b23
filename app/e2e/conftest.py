"""Fixtures for the browser test: PostgreSQL, the API, an API key, the CloudFront stand-in,
Chromium."""

from __future__ import annotations

import os
from collections.abc import Iterator
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from edge_proxy import start_edge
from payments_local_servers.api import ApiServer, create_api_key, create_app_database
from payments_local_servers.postgres import PostgresServer
from playwright.sync_api import Browser, expect, sync_playwright
from support import E2E_CLIENT, REPO_ROOT

WEB_DIST = REPO_ROOT / "app" / "web" / "dist"
ARTIFACTS = REPO_ROOT / "build" / "e2e"
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
# Flags for a root, offline, headless Chromium: no sandbox (root), and none of the background
# connections this closed network would refuse.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# How long expect(...) waits for the state it asserts. It returns as soon as the state is there,
# so this only bounds a failure; Playwright's default (5 s) fails a loaded machine's slow page.
EXPECT_TIMEOUT_MS = 30_000
expect.set_options(timeout=EXPECT_TIMEOUT_MS)


@pytest.fixture(scope="session")
def database() -> Iterator[Any]:
    """The database migrated as a deploy migrates it (`python -m payments_api.migrate` as its
    owner), with the API's and the key CLI's logins (payments_local_servers.api.AppDatabase)."""
    with PostgresServer() as server:
        yield create_app_database(server, "payments_e2e")


@pytest.fixture(scope="session")
def api(database: Any, api_key: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """The API, logged in as payments_api; started after `api_key` is made: the API loads the
    keys at its first authenticated request, then every API_KEY_CACHE_SECONDS, and a key made
    after a load works only from the next one."""
    with ApiServer(database.api.env(), tmp_path_factory.mktemp("api")) as server:
        # Live is not ready: the pool connects in the background, and the page asks /api/readyz
        # once, on load. Ready first, so the page cannot show a start-up "unavailable".
        server.wait_until_ready()
        yield server


@pytest.fixture(scope="session")
def api_key(database: Any) -> str:
    """A key for E2E_CLIENT, made as an operator makes one (`python -m payments_api.cli.api_keys
    create`, logged in as payments_keys_cli). The test pastes it into the page."""
    key: str = create_api_key(database.keys.env(), E2E_CLIENT)
    return key


@pytest.fixture(scope="session")
def site_url(api: Any) -> Iterator[str]:
    _require_build()
    edge: ThreadingHTTPServer = start_edge(WEB_DIST, api.base_url)
    yield f"http://127.0.0.1:{edge.server_address[1]}"
    edge.shutdown()


@pytest.fixture(scope="session")
def mode3_site_url() -> Iterator[str]:
    """The app behind a certificate mode 3 distribution: no /api/* behaviour, so no API (and
    no database) behind it; the CloudFront Function answers /api itself."""
    _require_build()
    edge: ThreadingHTTPServer = start_edge(WEB_DIST, None)
    yield f"http://127.0.0.1:{edge.server_address[1]}"
    edge.shutdown()


def _require_build() -> None:
    if not (WEB_DIST / "index.html").exists():
        pytest.fail(f"{WEB_DIST} has no build: run `npm ci && npm run build` in app/web")


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"no Chromium at {CHROMIUM}: apt-get install chromium (or set CHROMIUM_PATH)")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS
