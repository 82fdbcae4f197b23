"""moto's in-process Secrets Manager served over plain HTTP on 127.0.0.1, for a subprocess
(the real API server) that reaches it with AWS_ENDPOINT_URL.

moto's own ThreadedMotoServer needs moto[server] (Flask), which the test requirements do not
install (requirements-dev.txt has moto[secretsmanager]). This front does the part of it the
tests need: each POST is handed, as botocore would have sent it to AWS, to moto's request
dispatcher (`BotocoreStubber.process_request`, what `mock_aws()` runs for in-process
clients), so the answers, errors included, are moto's and the state is the same backend
that the test's in-process clients (inside `mock_aws()`) and `SecretsManagerRotation` use.
Only Secrets Manager's JSON protocol (`X-Amz-Target: secretsmanager.*`) is answered.
"""

from __future__ import annotations

import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType

from botocore.awsrequest import AWSPreparedRequest
from botocore.compat import HTTPHeaders
from moto.core.botocore_stubber import BotocoreStubber

TARGET_PREFIX = "secretsmanager."


class MotoSecretsManagerFront:
    """An HTTP endpoint for moto's Secrets Manager in `region`; use as a context manager."""

    def __init__(self, region: str = "us-east-1") -> None:
        self.region = region
        self.requests = 0  # answered so far (a test can wait for the API's re-read)
        self._stubber = BotocoreStubber()
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def endpoint_url(self) -> str:
        assert self._server is not None, "not started"
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def __enter__(self) -> MotoSecretsManagerFront:
        front = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                target = self.headers.get("X-Amz-Target") or ""
                if not target.startswith(TARGET_PREFIX):
                    self._answer(400, {}, b'{"__type":"UnknownOperationException"}')
                    return
                status, headers, answer = front._dispatch(dict(self.headers.items()), body)
                self._answer(status, headers, answer)

            def _answer(self, status: int, headers: dict[str, str], body: bytes) -> None:
                self.send_response(status)
                for name, value in headers.items():
                    if name.lower() not in {"content-length", "server", "date"}:
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                pass  # quiet: pytest shows the test's own output

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._server.socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        assert self._server is not None and self._thread is not None
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()

    def _dispatch(self, headers: dict[str, str], body: bytes) -> tuple[int, dict[str, str], bytes]:
        aws_headers = HTTPHeaders()
        for name, value in headers.items():
            aws_headers[name] = value
        request = AWSPreparedRequest(
            method="POST",
            url=f"https://secretsmanager.{self.region}.amazonaws.com/",
            headers=aws_headers,
            body=body,
            stream_output=False,
        )
        with self._lock:  # one request at a time into moto's backend
            result = self._stubber.process_request(request)
            self.requests += 1
        if result is None:
            return 404, {}, b'{"__type":"UnknownOperationException"}'
        status, response_headers, answer = result
        data = answer.encode() if isinstance(answer, str) else bytes(answer or b"")
        return status, {k: str(v) for k, v in response_headers.items()}, data
