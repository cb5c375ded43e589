"""A loopback webhook receiver that checks every message with the Standard Webhooks library, as a customer's would."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from standardwebhooks import Webhook
from standardwebhooks.webhooks import EmptyWebhookSecretError, WebhookVerificationError

from tests.services import ThreadedServer


@dataclass
class Received:
    headers: dict
    body: bytes
    verified: dict | None  # the payload when the signature checked out, else None
    error: str | None = None


@dataclass
class Receiver:
    """Answers each POST with the next status of `statuses` (the last one repeats) and keeps what it got."""

    statuses: list[int] = field(default_factory=lambda: [200])
    secret: str | None = None
    received: list[Received] = field(default_factory=list)
    hold: bool = False  # keep every answer back until stop(): an endpoint that does not answer in time

    def __post_init__(self):
        self.lock = threading.Lock()
        self.released = threading.Event()
        self.server = ThreadedServer(self.wsgi).start()

    @property
    def url(self) -> str:
        return f"{self.server.url}/hooks"

    def wsgi(self, environ, start_response):
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length)
        headers = {
            key[5:].replace("_", "-").lower(): value for key, value in environ.items() if key.startswith("HTTP_")
        }
        headers["content-type"] = environ.get("CONTENT_TYPE", "")
        verified, error = None, None
        try:
            verified = Webhook(self.secret).verify(body, headers)
        except (WebhookVerificationError, EmptyWebhookSecretError, ValueError, TypeError) as exc:
            error = repr(exc)
        with self.lock:
            status = self.statuses[min(len(self.received), len(self.statuses) - 1)]
            self.received.append(Received(headers, body, verified, error))
        if self.hold:
            self.released.wait(30)
        headers_out = [("Content-Type", "text/plain")]
        if status in (301, 302, 303, 307, 308):
            headers_out.append(("Location", "http://169.254.169.254/latest/meta-data/"))
        start_response(f"{status} X", headers_out)
        return [f"answered {status} to {headers.get('webhook-id')}".encode()]

    def of_type(self, event_type: str) -> list[Received]:
        with self.lock:
            return [r for r in self.received if r.verified and r.verified["type"] == event_type]

    def stop(self) -> None:
        self.released.set()
        self.server.stop()
