"""A real webhook receiver on 127.0.0.1: http.server in a thread on a free port. It checks
each request's X-Signature against the secret and answers from a script of statuses."""

from __future__ import annotations

import hashlib
import hmac
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterator


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    signature_ok: bool
    # time.monotonic() on arrival.
    at: float


@dataclass
class Receiver:
    secret: str = ""
    # Status of the n-th request; the last one repeats.
    statuses: list[int] = field(default_factory=lambda: [200])
    requests: list[Received] = field(default_factory=list)
    url: str = ""
    arrived: threading.Condition = field(default_factory=threading.Condition)

    def wait_for(self, count: int, *, timeout: float = 30) -> list[Received]:
        """The requests once ``count`` arrived; fails after ``timeout`` seconds."""
        with self.arrived:
            if not self.arrived.wait_for(lambda: len(self.requests) >= count, timeout):
                raise AssertionError(f"{len(self.requests)} of {count} requests in {timeout} s")
            return list(self.requests)


def _handler(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            expected = hmac.new(receiver.secret.encode(), body, hashlib.sha256).hexdigest()
            given = self.headers.get("X-Signature", "")
            with receiver.arrived:
                number = len(receiver.requests)
                status = receiver.statuses[min(number, len(receiver.statuses) - 1)]
                receiver.requests.append(
                    Received(
                        path=self.path,
                        headers=dict(self.headers.items()),
                        body=body,
                        signature_ok=hmac.compare_digest(given, f"sha256={expected}"),
                        at=time.monotonic(),
                    )
                )
                receiver.arrived.notify_all()
            # Answered after recording, so a test that saw the answer sees the request.
            self.send_response(status)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"no" if status >= 300 else b"ok")

        def log_message(self, format: str, *args: object) -> None:
            """Quiet: the test reads ``receiver.requests``."""

    return Handler


def run_receiver(receiver: Receiver) -> Iterator[Receiver]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(receiver))
    receiver.url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
