"""A loopback stand-in for CloudFront, for the end-to-end test and local runs.

Serves the built web app (``app/web/dist``) and forwards ``/api/*`` to the API over HTTPS,
as the distribution's two behaviours do in AWS: one origin, so the page calls ``/api``
same-origin. Like the ALB, it does not verify the API's self-signed certificate.

    python -m app.e2e.edge_proxy --dist app/web/dist --api https://127.0.0.1:8443 --port 8080
"""

from __future__ import annotations

import argparse
import http.client
import ssl
import threading
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

from payments_infra.aws.web_headers import SECURITY_HEADERS

HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "upgrade", "host"}


class EdgeHandler(SimpleHTTPRequestHandler):
    """Static files with production's security headers; ``/api/*`` forwarded to the API."""

    api_origin: str = ""  # set per server by start_edge

    def end_headers(self) -> None:
        if not self.path.startswith("/api/"):
            for name, value in SECURITY_HEADERS.items():
                self.send_header(name, value)
        super().end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass  # the test reads the API's own JSON logs instead

    def do_GET(self) -> None:
        if self.path.startswith("/api/"):
            self._forward()
        else:
            self._serve_static()

    def do_POST(self) -> None:
        if self.path.startswith("/api/"):
            self._forward()
        else:
            self.send_error(405)

    def _serve_static(self) -> None:
        # The SPA routing the CloudFront Function does: extension-less paths get index.html.
        if "." not in self.path.rsplit("/", 1)[-1]:
            self.path = "/index.html"
        super().do_GET()

    def _forward(self) -> None:
        target = urlsplit(self.api_origin)
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


def start_edge(dist: Path, api_origin: str, port: int = 0) -> ThreadingHTTPServer:
    """Start the proxy in a background thread; ``server.server_address`` has its port."""
    handler_class = type("BoundEdgeHandler", (EdgeHandler,), {"api_origin": api_origin})
    handler = partial(handler_class, directory=str(dist))
    server = ThreadingHTTPServer(("127.0.0.1", port), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dist", type=Path, default=Path("app/web/dist"))
    parser.add_argument("--api", default="https://127.0.0.1:8443")
    parser.add_argument("--port", type=int, default=8080)
    args = parser.parse_args()
    server = start_edge(args.dist, args.api, args.port)
    print(f"serving {args.dist} on http://127.0.0.1:{server.server_address[1]}, /api -> {args.api}")
    threading.Event().wait()


if __name__ == "__main__":
    main()
