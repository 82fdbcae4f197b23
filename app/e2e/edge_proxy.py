"""A loopback stand-in for CloudFront, for the end-to-end test and local runs.

Serves the built web app (``app/web/dist``) and forwards ``/api/*`` to the API over HTTPS,
as the distribution's two behaviours do in AWS: one origin, so the page calls ``/api``
same-origin. Like the ALB, it does not verify the API's self-signed certificate. Every other
request meets the distribution's own CloudFront Function first (its source from
payments_infra/components/frontend/frontend.py, run by Node), as the default behaviour does.

Without an API origin it is a certificate mode 3 distribution: no ``/api/*`` behaviour, so the
function answers every ``/api`` path.

    python -m app.e2e.edge_proxy --dist app/web/dist --api https://127.0.0.1:8443 --port 8080
    python -m app.e2e.edge_proxy --dist app/web/dist --no-api --port 8080
"""

from __future__ import annotations

import argparse
import base64
import http.client
import json
import shutil
import ssl
import subprocess
import threading
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from payments_infra.components.frontend.frontend import spa_function_code
from payments_infra.components.frontend.web_headers import SECURITY_HEADERS

HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "upgrade", "host"}
# Runs a viewer-request function's source in a fresh V8 context holding only `event` (no Node
# globals, as in CloudFront's runtime) and prints what its handler returned.
RUN_FUNCTION = """
const vm = require('vm');
const [code, event] = process.argv.slice(1);
const context = { event: JSON.parse(event) };
const result = vm.runInNewContext(code + '\\n;handler(event);', context, { timeout: 1000 });
process.stdout.write(JSON.stringify(result));
"""


def run_viewer_request(code: str, method: str, uri: str) -> dict[str, Any]:
    """What the function returns for this request: the request to go on with, or a response."""
    node = shutil.which("node")
    if node is None:
        raise RuntimeError("no node on PATH: the edge runs the CloudFront Function with Node.js")
    event = {
        "version": "1.0",
        "context": {"eventType": "viewer-request"},
        "viewer": {"ip": "127.0.0.1"},
        "request": {"method": method, "uri": uri, "querystring": {}, "headers": {}, "cookies": {}},
    }
    done = subprocess.run(
        [node, "-e", RUN_FUNCTION, code, json.dumps(event)],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    answer: dict[str, Any] = json.loads(done.stdout)
    return answer


def generated_body(answer: dict[str, Any]) -> bytes:
    """The body of a response the function generated: ``{encoding, data}`` or a plain string."""
    body = answer.get("body") or ""
    if isinstance(body, str):
        return body.encode()
    data = str(body.get("data", ""))
    return base64.b64decode(data) if body.get("encoding") == "base64" else data.encode()


class EdgeHandler(SimpleHTTPRequestHandler):
    """Static files with production's security headers, behind the distribution's CloudFront
    Function; ``/api/*`` forwarded to the API when there is one."""

    api_origin: str | None = None  # set per server by start_edge; None: certificate mode 3
    function_code: str = ""  # likewise: the default behaviour's viewer-request function

    def end_headers(self) -> None:
        if not self.path.startswith("/api/"):
            for name, value in SECURITY_HEADERS.items():
                self.send_header(name, value)
        super().end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass  # the test reads the API's own JSON logs instead

    def do_GET(self) -> None:
        if self.api_origin and self.path.startswith("/api/"):
            self._forward()
        else:
            self._default_behaviour()

    def do_POST(self) -> None:
        if self.api_origin and self.path.startswith("/api/"):
            self._forward()
        else:
            self.send_error(405)

    def _default_behaviour(self) -> None:
        # The function first: it answers (/api without an /api/* behaviour), or rewrites the
        # path (app routes get index.html) and the bucket serves what it names.
        uri, _, query = self.path.partition("?")
        answer = run_viewer_request(self.function_code, self.command, uri)
        if "statusCode" in answer:
            body = generated_body(answer)
            self.send_response(int(answer["statusCode"]), answer.get("statusDescription"))
            for name, header in (answer.get("headers") or {}).items():
                self.send_header(name, header["value"])
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        self.path = str(answer["uri"]) + (f"?{query}" if query else "")
        super().do_GET()

    def _forward(self) -> None:
        target = urlsplit(self.api_origin or "")
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        connection = http.client.HTTPSConnection(
            target.hostname or "127.0.0.1", target.port or 443, context=context, timeout=30
        )
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else None
        headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
        connection.request(self.command, self.path, body=body, headers=headers)
        response = connection.getresponse()
        payload = response.read()
        self.send_response(response.status)
        for key, value in response.getheaders():
            if key.lower() not in HOP_BY_HOP | {"content-length"}:
                self.send_header(key, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)
        connection.close()


def start_edge(dist: Path, api_origin: str | None, port: int = 0) -> ThreadingHTTPServer:
    """Start the proxy in a background thread; ``server.server_address`` has its port.
    ``api_origin`` None: a certificate mode 3 distribution, with no ``/api/*`` behaviour."""
    attributes = {
        "api_origin": api_origin,
        "function_code": spa_function_code(api_routed=api_origin is not None),
    }
    handler_class = type("BoundEdgeHandler", (EdgeHandler,), attributes)
    handler = partial(handler_class, directory=str(dist))
    server = ThreadingHTTPServer(("127.0.0.1", port), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dist", type=Path, default=Path("app/web/dist"))
    parser.add_argument("--api", default="https://127.0.0.1:8443")
    parser.add_argument(
        "--no-api", action="store_true", help="no /api/* behaviour (certificate mode 3)"
    )
    parser.add_argument("--port", type=int, default=8080)
    args = parser.parse_args()
    api = None if args.no_api else args.api
    server = start_edge(args.dist, api, args.port)
    print(f"serving {args.dist} on http://127.0.0.1:{server.server_address[1]}, /api -> {api}")
    threading.Event().wait()


if __name__ == "__main__":
    main()
