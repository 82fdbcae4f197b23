"""The web app's Vite dev server (`npm run dev` in app/web) for `make dev`, with `/api/*`
proxied to the API: started in a process group of its own, waited for until the page and
`/api/readyz` through the proxy both answer, and stopped as a whole group.
"""

from __future__ import annotations

import contextlib
import http.client
import os
import signal
import subprocess
import time
from collections.abc import Callable, Mapping
from types import TracebackType

from local_stack import HOST, STOP_SECONDS, WEB_DIR, StackError
from stack_processes import check_running, live_group_members, signal_group, wait_until

VITE_READY_SECONDS = 90.0  # the first start pre-bundles React
# Never handed to Vite: the first would switch certificate checks off in Node, the second would
# send the page's API calls past the proxy.
DROPPED_VITE_ENV = ("NODE_TLS_REJECT_UNAUTHORIZED", "VITE_API_BASE_URL")


class ViteServer:
    """`npm run dev` in app/web, in its own session and process group (npm starts a shell,
    which starts node): `stop` ends every process of it, and a terminal's Ctrl-C does not reach
    it, so `make dev` (run.py) stops it first, before the API and PostgreSQL."""

    def __init__(self, npm: str, port: int, env: Mapping[str, str]) -> None:
        self.npm = npm
        self.port = port
        self.env = dict(env)
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def __enter__(self) -> ViteServer:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def start(self) -> None:
        env = {k: v for k, v in os.environ.items() if k not in DROPPED_VITE_ENV}
        env.update(self.env)
        command = [self.npm, "run", "dev", "--", "--host", HOST, "--port", str(self.port)]
        command += ["--strictPort", "--clearScreen", "false"]
        self.process = subprocess.Popen(
            command, cwd=WEB_DIR, env=env, stdin=subprocess.DEVNULL, start_new_session=True
        )

    def _get(self, path: str, accept: str) -> int:
        connection = http.client.HTTPConnection(HOST, self.port, timeout=5)
        try:
            connection.request("GET", path, headers={"Accept": accept})
            return connection.getresponse().status
        finally:
            connection.close()

    def wait_until_ready(
        self, check_others: Callable[[], None], timeout: float = VITE_READY_SECONDS
    ) -> None:
        """Until the page and `/api/readyz` through the proxy both answer 200."""
        assert self.process is not None
        deadline = time.monotonic() + timeout
        last = "no answer"
        while time.monotonic() < deadline:
            check_running([("the Vite dev server", self.process)])
            check_others()
            try:
                page = self._get("/", "text/html")
                api = self._get("/api/readyz", "application/json")
            except OSError as error:
                last = str(error)
            else:
                if page == 200 and api == 200:
                    return
                last = f"page HTTP {page}, /api/readyz HTTP {api}"
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(0.1)
        raise StackError(
            f"the Vite dev server on {self.url} was not serving the page and /api within "
            f"{timeout:.0f} s ({last}); its output is above"
        )

    def stop(self, timeout: float = STOP_SECONDS) -> None:
        """SIGTERM to the whole group, wait for every member, SIGKILL after `timeout`."""
        if self.process is None:
            return
        pgid = self.process.pid  # a session leader: its pid is the group id
        signal_group(pgid, signal.SIGTERM)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            signal_group(pgid, signal.SIGKILL)
            self.process.wait()
        if not wait_until(lambda: not live_group_members(pgid), timeout):
            signal_group(pgid, signal.SIGKILL)
            wait_until(lambda: not live_group_members(pgid), timeout)
        self.process = None
