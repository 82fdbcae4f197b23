"""`make dev` (app/dev/run.py): the page works in Chromium through the Vite dev server's `/api`
proxy with the API key the script prints, and Ctrl-C stops everything. That the proxy really
verifies the API's certificate: test_dev_proxy_certificate.py."""

from __future__ import annotations

import contextlib
import os
import queue
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Response, expect
from support import REPO_ROOT, assert_key_kept_in_memory_only, free_port

RUN_PY = REPO_ROOT / "app" / "dev" / "run.py"
READY_SECONDS = 120.0  # PostgreSQL, the API, Vite's first start
STOP_SECONDS = 60.0
PAGE_SECONDS = 30_000  # ms: the dev server compiles modules on the first page load

READY = re.compile(r"^Local stack ready: (http://127\.0\.0\.1:(\d+))  \(Ctrl-C to stop\)$")
POSTGRES = re.compile(r"^PostgreSQL over TLS: 127\.0\.0\.1:(\d+), database \w+ \(files in (.+)\)$")
API = re.compile(r"^API over HTTPS: https://127\.0\.0\.1:(\d+) \(log (.+)/api/server\.log\)$")
API_KEY = re.compile(r"^API key for client dev: (pay_[0-9a-f]{12}_[A-Za-z0-9_-]{43})$")


def _listening(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(2)
        return sock.connect_ex(("127.0.0.1", port)) == 0


# Processes, by /proc: (pid, start time) names one process even if its pid is reused later.
Proc = tuple[int, int]


def _stat(pid: int) -> list[str] | None:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None


def _proc(pid: int) -> Proc | None:
    fields = _stat(pid)
    return None if fields is None else (pid, int(fields[19]))


def _alive(proc: Proc) -> bool:
    fields = _stat(proc[0])
    return fields is not None and int(fields[19]) == proc[1] and fields[0] != "Z"


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def _tree(root: int) -> set[Proc]:
    """`root` and all its descendants."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        fields = _stat(int(stat.parent.name))
        if fields is not None:
            children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, todo = set(), [root]
    while todo:
        pid = todo.pop()
        proc = _proc(pid)
        if proc is not None:
            found.add(proc)
            todo.extend(children.get(pid, []))
    return found


def _postmaster(data_dir: Path) -> int:
    """The pid of the server on `data_dir`: pg_ctl detaches it, so it is no descendant."""
    pid_file = data_dir / "postmaster.pid"
    return int(pid_file.read_text().splitlines()[0])


class DevStack:
    """app/dev/run.py in its own process group, as a terminal would run it, its output read
    line by line in a thread."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.lines: list[str] = []
        self._queue: queue.Queue[str | None] = queue.Queue()
        self.process = subprocess.Popen(
            [sys.executable, str(RUN_PY), "--port", str(port)],
            cwd=REPO_ROOT,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self._queue.put(line.rstrip("\n"))
        self._queue.put(None)

    @property
    def output(self) -> str:
        while True:  # take in what the thread has read so far
            try:
                line = self._queue.get_nowait()
            except queue.Empty:
                break
            if line is not None:
                self.lines.append(line)
        return "\n".join(self.lines)

    def wait_for(self, pattern: re.Pattern[str], timeout: float) -> re.Match[str]:
        deadline = time.monotonic() + timeout
        for line in self.lines:
            if match := pattern.match(line):
                return match
        while (left := deadline - time.monotonic()) > 0:
            try:
                next_line = self._queue.get(timeout=left)
            except queue.Empty:
                break
            if next_line is None:
                pytest.fail(f"run.py ended (code {self.process.wait()}):\n{self.output}")
            self.lines.append(next_line)
            if match := pattern.match(next_line):
                return match
        pytest.fail(f"no line matching {pattern.pattern} within {timeout} s:\n{self.output}")

    def interrupt(self) -> None:
        """Ctrl-C in a terminal: SIGINT to the foreground process group."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGINT)

    def kill(self, others: set[Proc]) -> None:
        """After a failed test: leave nothing running."""
        if self.process.poll() is None:
            self.interrupt()
            try:
                self.process.wait(STOP_SECONDS)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        for proc in others:
            if _alive(proc):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(proc[0], signal.SIGKILL)


@pytest.fixture
def dev_stack() -> Iterator[tuple[DevStack, set[Proc]]]:
    """The running stack and a set the test fills with every process it saw."""
    stack = DevStack(free_port())
    seen: set[Proc] = set()
    yield stack, seen
    stack.kill(seen)


def _create_a_payment_in_the_page(
    browser: Browser, url: str, api_key: str, screenshot: Path
) -> set[tuple[str, str, int]]:
    """Open the page, paste `api_key`, create a payment and see it listed; check that the key
    stayed in the page's memory. Returns the page's API calls: (method, URL, status)."""
    page = browser.new_page()
    api_responses: list[Response] = []
    page.on("response", lambda r: api_responses.append(r) if "/api/" in r.url else None)
    page.goto(url)
    expect(page.get_by_test_id("api-health")).to_have_text("ok", timeout=PAGE_SECONDS)
    expect(page.get_by_test_id("api-readiness")).to_have_text("ready", timeout=PAGE_SECONDS)
    expect(page.get_by_test_id("api-version")).to_have_text("0.1.0")

    page.get_by_label("API key", exact=True).fill(api_key)
    expect(page.get_by_text("No payments yet.")).to_be_visible(timeout=PAGE_SECONDS)
    reference = f"dev-{uuid.uuid4().hex[:12]}"
    page.get_by_label("Amount (minor units)").fill("1234")
    page.get_by_label("Currency").fill("USD")
    page.get_by_label("Merchant reference").fill(reference)
    page.get_by_role("button", name="Create payment").click()
    row = page.get_by_test_id("payment-row").filter(has_text=reference)
    expect(row).to_have_count(1, timeout=PAGE_SECONDS)
    expect(row).to_contain_text("$12.34")
    page.screenshot(path=str(screenshot), full_page=True)
    assert_key_kept_in_memory_only(page, api_key)
    page.close()
    return {(r.request.method, r.url.split("?")[0], r.status) for r in api_responses}


def test_make_dev_serves_the_page_through_the_proxy_and_stops_on_ctrl_c(
    browser: Browser, artifacts: Path, dev_stack: tuple[DevStack, set[Proc]]
) -> None:
    stack, seen = dev_stack
    url = stack.wait_for(READY, READY_SECONDS).group(1)
    assert url == f"http://127.0.0.1:{stack.port}"
    postgres = stack.wait_for(POSTGRES, 0)
    api = stack.wait_for(API, 0)
    # Printed before the ready line, once, with the hint to paste it.
    api_key = stack.wait_for(API_KEY, 0).group(1)
    assert stack.output.count(api_key) == 1, stack.output
    assert "Paste it into the page's API key field" in stack.output, stack.output
    ports = {"vite": stack.port, "postgres": int(postgres.group(1)), "api": int(api.group(1))}
    temp_dirs = [Path(postgres.group(2)), Path(api.group(2))]
    assert all(_listening(port) for port in ports.values()), ports
    seen |= _tree(stack.process.pid) | _tree(_postmaster(temp_dirs[0] / "data"))
    names = {_cmdline(pid) for pid, _ in seen}
    assert any("payments_api.serve" in name for name in names), names
    assert any("vite" in name for name in names), names

    calls = _create_a_payment_in_the_page(browser, url, api_key, artifacts / "dev-stack.png")
    # Every API call went to the dev server's origin (the proxy), none straight to the API; the
    # proxy passed the key on (the API answered 200 and 201, not 401).
    assert (("GET", f"{url}/api/readyz", 200)) in calls, calls
    assert (("GET", f"{url}/api/payments", 200)) in calls, calls
    assert (("POST", f"{url}/api/payments", 201)) in calls, calls
    assert all(call[1].startswith(f"{url}/api/") for call in calls), calls

    seen |= _tree(stack.process.pid)  # npm's children, now that they have all started
    stack.interrupt()
    try:
        code = stack.process.wait(STOP_SECONDS)
    except subprocess.TimeoutExpired:
        pytest.fail(f"run.py still running {STOP_SECONDS} s after Ctrl-C:\n{stack.output}")
    output = stack.output
    assert code == 0, output
    assert output.splitlines()[-1] == "Stopped; temporary files removed.", output
    assert "Traceback" not in output, output
    left = [proc for proc in seen if _alive(proc)]
    assert left == [], left
    assert [name for name, port in ports.items() if _listening(port)] == [], ports
    assert [d for d in temp_dirs if d.exists()] == [], temp_dirs
