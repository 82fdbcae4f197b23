"""`make dev` (app/dev/run.py): the page works in Chromium through the Vite dev server's `/api`
proxy with the API key the script prints, Ctrl-C stops everything, and the proxy really
verifies the API's certificate."""

from __future__ import annotations

import contextlib
import datetime
import http.client
import importlib.util
import ipaddress
import json
import os
import queue
import re
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from payments_local_servers.postgres import generate_ca
from playwright.sync_api import Browser, Response, expect
from support import REPO_ROOT, assert_key_kept_in_memory_only

RUN_PY = REPO_ROOT / "app" / "dev" / "run.py"
READY_SECONDS = 120.0  # PostgreSQL, the API, Vite's first start
STOP_SECONDS = 60.0
PAGE_SECONDS = 30_000  # ms: the dev server compiles modules on the first page load

READY = re.compile(r"^Local stack ready: (http://127\.0\.0\.1:(\d+))  \(Ctrl-C to stop\)$")
POSTGRES = re.compile(r"^PostgreSQL over TLS: 127\.0\.0\.1:(\d+), database \w+ \(files in (.+)\)$")
API = re.compile(r"^API over HTTPS: https://127\.0\.0\.1:(\d+) \(log (.+)/api/server\.log\)$")
API_KEY = re.compile(r"^API key for client dev: (pay_[0-9a-f]{12}_[A-Za-z0-9_-]{43})$")


def _load_run_py() -> ModuleType:
    spec = importlib.util.spec_from_file_location("payments_dev_run", RUN_PY)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


dev_run = _load_run_py()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


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
    stack = DevStack(_free_port())
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


# The proxy's certificate check, against a stand-in API whose certificate is known.


class _Upstream(BaseHTTPRequestHandler):
    hits: list[str] = []  # noqa: RUF012  (one list for the test module)

    def do_GET(self) -> None:
        _Upstream.hits.append(self.path)
        body = json.dumps({"status": "ready"}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


def _certificate_for(ca: Any, name: x509.GeneralName) -> tuple[bytes, bytes]:
    """(certificate, key) PEM naming only `name`, signed by `ca`."""
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "stand-in API")]))
        .issuer_name(ca.certificate.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([name]), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(ca.key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return cert.public_bytes(serialization.Encoding.PEM), key_pem


@contextlib.contextmanager
def _https_upstream(cert_pem: bytes, key_pem: bytes, tmp_path: Path) -> Iterator[str]:
    (tmp_path / "up.crt").write_bytes(cert_pem)
    (tmp_path / "up.key").write_bytes(key_pem)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(tmp_path / "up.crt", tmp_path / "up.key")
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Upstream)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"https://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def _get(port: int, path: str, accept: str) -> int:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request("GET", path, headers={"Accept": accept})
        return connection.getresponse().status
    finally:
        connection.close()


def _proxied_status(origin: str, ca_file: Path | None) -> int:
    """The status of GET /api/readyz through a fresh Vite dev server proxying to `origin`."""
    npm = shutil.which("npm")
    if npm is None:
        pytest.fail("no npm on PATH: install Node.js 20.19+ with npm")
    env = {"PAYMENTS_API_ORIGIN": origin, "PAYMENTS_API_CA_FILE": str(ca_file or "")}
    vite = dev_run.ViteServer(npm, _free_port(), env)
    vite.start()
    try:
        deadline = time.monotonic() + READY_SECONDS
        while True:  # until the dev server answers at all
            assert vite.process.poll() is None, "vite exited"
            with contextlib.suppress(OSError):
                if _get(vite.port, "/", "text/html") == 200:
                    break
            assert time.monotonic() < deadline, "vite did not start"
            with contextlib.suppress(subprocess.TimeoutExpired):
                vite.process.wait(0.1)
        return _get(vite.port, "/api/readyz", "application/json")
    finally:
        vite.stop()


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        ("the API's CA", 200),
        ("another CA", 502),
        ("no CA file: Node's default CAs", 502),
        ("the API's CA, but the certificate names another host", 502),
    ],
)
def test_the_dev_proxy_verifies_the_api_certificate(
    case: str, expected: int, tmp_path: Path
) -> None:
    api_ca = generate_ca("stand-in API CA")
    named = (
        x509.DNSName("elsewhere.test")
        if "another host" in case
        else x509.IPAddress(ipaddress.ip_address("127.0.0.1"))
    )
    cert_pem, key_pem = _certificate_for(api_ca, named)
    ca_file = tmp_path / "ca.pem"
    if case == "another CA":
        ca_file.write_bytes(generate_ca("some other CA").cert_pem)
    else:
        ca_file.write_bytes(api_ca.cert_pem)
    _Upstream.hits.clear()
    with _https_upstream(cert_pem, key_pem, tmp_path) as origin:
        status = _proxied_status(origin, None if case.startswith("no CA") else ca_file)
    assert status == expected, case
    # Refused at the TLS handshake: the stand-in never saw the request.
    assert _Upstream.hits == (["/api/readyz"] if expected == 200 else []), case
