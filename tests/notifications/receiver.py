"""A real webhook receiver on 127.0.0.1: http.server in a thread on a free port, answering
from a script of statuses.

It checks each request as the Standard Webhooks specification tells a receiver to
(https://www.standardwebhooks.com, "Verifying webhooks"), written here from the
specification: the ``webhook-signature`` must hold ``v1,`` and the base64 HMAC-SHA256 of
``{webhook-id}.{webhook-timestamp}.{body}``, the timestamp must be within the tolerance of
the receiver's clock, and an id it accepted once is not accepted again. The key is the one
a Standard Webhooks library derives from ``standard_secret(secret)``: what
the README tells receivers to do with a webhook's secret.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Mapping

# The specification's tolerance, in seconds, either side of the receiver's clock.
TOLERANCE = 5 * 60


class WebhookRejected(Exception):
    """The request is not a fresh, signed delivery; the message says why."""


def standard_secret(secret: str) -> str:
    """A webhook's secret in the form Standard Webhooks libraries take: ``whsec_`` and the
    base64 of the key bytes, which are the secret's own characters."""
    return "whsec_" + base64.b64encode(secret.encode()).decode()


def verify_standard_webhook(
    whsec: str, headers: Mapping[str, str], body: bytes, *, now: float
) -> str:
    """The ``webhook-id`` of a request whose signature, over its id, timestamp and body,
    is right and whose timestamp is within ``TOLERANCE`` of ``now``; raises
    ``WebhookRejected`` otherwise."""
    given = {name.lower(): value for name, value in headers.items()}
    message_id = given.get("webhook-id", "")
    signatures = given.get("webhook-signature", "")
    try:
        timestamp = int(given.get("webhook-timestamp", ""))
    except ValueError:
        raise WebhookRejected("no webhook-timestamp") from None
    if not message_id or not signatures:
        raise WebhookRejected("no webhook-id or webhook-signature")
    if timestamp < now - TOLERANCE:
        raise WebhookRejected("timestamp too old")
    if timestamp > now + TOLERANCE:
        raise WebhookRejected("timestamp too new")
    key = base64.b64decode(whsec.removeprefix("whsec_"))
    signed = f"{message_id}.{timestamp}.".encode() + body
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    for signature in signatures.split(" "):
        version, _, value = signature.partition(",")
        if version == "v1" and hmac.compare_digest(value, expected):
            return message_id
    raise WebhookRejected("no signature matches")


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    # Why the Standard Webhooks check refused the request; "" when it passed.
    rejection: str
    # Whether X-Signature, the HMAC of the body alone, matched.
    body_signature_ok: bool
    # time.monotonic() on arrival.
    at: float

    @property
    def signature_ok(self) -> bool:
        return not self.rejection


@dataclass
class Receiver:
    secret: str = ""
    # Status of the n-th request; the last one repeats.
    statuses: list[int] = field(default_factory=lambda: [200])
    # Answer 401, as a real receiver would, to a request that fails the check.
    refuses_unverified: bool = False
    # The receiver's clock for the timestamp check, in seconds since the epoch.
    clock: Callable[[], float] = time.time
    # Ids of the deliveries answered with a 2xx.
    accepted_ids: set[str] = field(default_factory=set)
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
            headers = dict(self.headers.items())
            expected = hmac.new(receiver.secret.encode(), body, hashlib.sha256).hexdigest()
            given = self.headers.get("X-Signature", "")
            with receiver.arrived:
                try:
                    message_id = verify_standard_webhook(
                        standard_secret(receiver.secret), headers, body, now=receiver.clock()
                    )
                    if message_id in receiver.accepted_ids:
                        raise WebhookRejected("already received")
                    rejection = ""
                except WebhookRejected as exc:
                    message_id, rejection = "", str(exc)
                number = len(receiver.requests)
                status = receiver.statuses[min(number, len(receiver.statuses) - 1)]
                if rejection and receiver.refuses_unverified:
                    status = 401
                elif message_id and 200 <= status < 300:
                    receiver.accepted_ids.add(message_id)
                receiver.requests.append(
                    Received(
                        path=self.path,
                        headers=headers,
                        body=body,
                        rejection=rejection,
                        body_signature_ok=hmac.compare_digest(given, f"sha256={expected}"),
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
