"""A real HTTP server on [::1] at a free port, for URLs that name an IPv6 literal (no root, no fixed port: two
suites can run at once)."""

from __future__ import annotations

import socket
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class _V6Server(ThreadingHTTPServer):
    address_family = socket.AF_INET6


@dataclass
class V6Origin:
    """Answers GET with `body` (200 image/png) and POST with 200; keeps every request's method, path and Host."""

    body: bytes = b""
    port: int = 0
    requests: list[tuple[str, str, str]] = field(default_factory=list)

    def __post_init__(self):
        origin = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self, payload: bytes, content_type: str) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                if length:
                    self.rfile.read(length)
                origin.requests.append((self.command, self.path, self.headers.get("Host", "")))
                self.send_response(200)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def do_GET(self):  # noqa: N802 - http.server's name
                self._answer(origin.body, "image/png")

            def do_POST(self):  # noqa: N802 - http.server's name
                self._answer(b"ok", "text/plain")

            def log_message(self, *args):
                pass

        self.server = _V6Server(("::1", self.port), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path: str) -> str:
        return f"http://[::1]:{self.port}{path}"

    @property
    def host(self) -> str:
        """The Host header a client sends for url()."""
        return f"[::1]:{self.port}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
