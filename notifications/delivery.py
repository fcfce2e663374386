"""One attempt of a webhook delivery: sign, POST to the checked address, record the answer.

Signatures follow the Standard Webhooks specification (https://www.standardwebhooks.com):
``webhook-id`` is the delivery's id, the same on every attempt, so a receiver can drop
one it has already handled; ``webhook-timestamp`` is the attempt's time in seconds since
the epoch, so a receiver can refuse an old one; ``webhook-signature`` is ``v1,`` and the
base64 HMAC-SHA256 of ``{webhook-id}.{webhook-timestamp}.{body}``. A captured delivery
therefore cannot be replayed later, nor re-dated, nor sent under another id. The key is
the webhook's secret as its characters; a Standard Webhooks library takes it as
``whsec_`` and the base64 of them. ``X-Signature`` (the HMAC of the body alone, in hex)
stays for receivers that check it already: it does not protect them from a replay.

Outcomes: 2xx delivered; a connection error, a timeout, a name that does not resolve or
a 5xx is transient and retried by the task while attempts remain; anything else (a 4xx,
a redirect, a refused address, a bad certificate) fails at once.
"""

from __future__ import annotations

import base64
import enum
import hashlib
import hmac
import http.client
import json
import ssl
import time
from datetime import timedelta
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import transaction

from notifications.models import DeliveryAttempt, DeliveryStatus, WebhookDelivery
from notifications.targets import ResolutionFailed, TargetRefused, check_target, open_connection

if TYPE_CHECKING:
    from datetime import datetime

    from notifications.targets import Target

USER_AGENT = "Awaiting-death-Webhook/1.0"
# Enough of a refusal's body to say why in the log; the rest is not read.
ERROR_BODY_BYTES = 500


class Outcome(enum.Enum):
    DELIVERED = "delivered"
    RETRY = "retry"
    FAILED = "failed"
    # Nothing to do: the delivery is gone, finished, or this attempt ran already.
    SKIPPED = "skipped"


def encode_body(payload: object) -> bytes:
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()


def signing_key(secret: str) -> bytes:
    """The HMAC key of a webhook's signatures: the characters of its secret."""
    return secret.encode()


def sign(body: bytes, secret: str) -> str:
    """The X-Signature value: ``sha256=`` and the hex HMAC-SHA256 of exactly ``body``."""
    return "sha256=" + hmac.new(signing_key(secret), body, hashlib.sha256).hexdigest()


def sign_message(*, message_id: str, timestamp: int, body: bytes, key: bytes) -> str:
    """The ``webhook-signature`` value of the Standard Webhooks specification: ``v1,``
    and the base64 HMAC-SHA256 with ``key`` of ``{message_id}.{timestamp}.{body}``."""
    signed = f"{message_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()


def retry_delay(attempt: int) -> int:
    """Seconds to wait after failed attempt ``attempt`` (1, 2, ...): base, 2 base, 4 base."""
    return settings.WEBHOOK_RETRY_BASE * 2 ** (attempt - 1)


def _headers(
    target: Target, *, body: bytes, delivery: WebhookDelivery, now: datetime
) -> dict[str, str]:
    timestamp = int(now.timestamp())
    key = signing_key(delivery.webhook.secret)
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "webhook-id": delivery.id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": sign_message(
            message_id=delivery.id, timestamp=timestamp, body=body, key=key
        ),
        "X-Signature": sign(body, delivery.webhook.secret),
        "X-Event": delivery.event,
        "X-Delivery": delivery.id,
    }
    if target.username is not None:
        pair = f"{target.username}:{target.password or ''}".encode()
        headers["Authorization"] = "Basic " + base64.b64encode(pair).decode()
    return headers


def _post(target: Target, *, body: bytes, headers: dict[str, str]) -> tuple[int, str]:
    """POST ``body``; returns the status and the start of the body of a non-2xx answer."""
    connection = open_connection(target, timeout=settings.WEBHOOK_TIMEOUT)
    try:
        connection.request("POST", target.path, body=body, headers=headers)
        response = connection.getresponse()
        text = "" if 200 <= response.status < 300 else response.read(ERROR_BODY_BYTES)
        return response.status, text.decode(errors="replace") if text else ""
    finally:
        connection.close()


def _send(delivery: WebhookDelivery, *, now: datetime) -> tuple[Outcome, int | None, str]:
    """Send once, dated ``now``; (outcome as if attempts were unlimited, status code,
    error text)."""
    try:
        target = check_target(delivery.webhook.url, allow_private=settings.WEBHOOK_ALLOW_PRIVATE)
    except ResolutionFailed as exc:
        return Outcome.RETRY, None, str(exc)
    except TargetRefused as exc:
        return Outcome.FAILED, None, str(exc)
    body = encode_body(delivery.payload)
    try:
        code, text = _post(
            target, body=body, headers=_headers(target, body=body, delivery=delivery, now=now)
        )
    except ssl.SSLCertVerificationError as exc:
        return Outcome.FAILED, None, f"TLS certificate refused: {exc.verify_message}"
    except TimeoutError:
        return Outcome.RETRY, None, f"No answer within {settings.WEBHOOK_TIMEOUT} s."
    except (OSError, http.client.HTTPException) as exc:
        return Outcome.RETRY, None, f"Connection failed: {exc!r}"
    if 200 <= code < 300:
        return Outcome.DELIVERED, code, ""
    if code >= 500:
        return Outcome.RETRY, code, text
    return Outcome.FAILED, code, text


def attempt_delivery(
    delivery_id: str, *, attempt: int, max_attempts: int, now: datetime
) -> Outcome:
    """Make attempt number ``attempt`` (from 1) of the delivery, signed as sent at
    ``now``, and record its outcome as a DeliveryAttempt and on the delivery (status,
    response code, error).

    Returns RETRY when the attempt failed in a passing way and fewer than
    ``max_attempts`` were made (the delivery stays pending), DELIVERED or FAILED when the
    delivery is settled, SKIPPED when the delivery is gone, already settled, or this
    attempt was claimed before (a duplicate task message does not POST twice).
    """
    claimed = WebhookDelivery.objects.filter(
        pk=delivery_id, status=DeliveryStatus.PENDING, attempt=attempt - 1
    ).update(attempt=attempt)
    if claimed != 1:
        return Outcome.SKIPPED
    delivery = WebhookDelivery.objects.select_related("webhook").filter(pk=delivery_id).first()
    if delivery is None:
        return Outcome.SKIPPED
    started = time.monotonic()
    outcome, code, error = _send(delivery, now=now)
    elapsed = time.monotonic() - started
    if outcome is Outcome.RETRY and attempt >= max_attempts:
        outcome = Outcome.FAILED
        error = f"{error} Gave up after {attempt} attempts.".strip()
    with transaction.atomic():
        DeliveryAttempt.objects.create(
            delivery_id=delivery_id,
            number=attempt,
            at=now,
            response_status=code,
            error=error,
            duration_ms=round(elapsed * 1000),
        )
        WebhookDelivery.objects.filter(pk=delivery_id).update(
            status={
                Outcome.DELIVERED: DeliveryStatus.DELIVERED,
                Outcome.FAILED: DeliveryStatus.FAILED,
            }.get(outcome, DeliveryStatus.PENDING),
            response_status=code,
            error=error,
            delivered_at=now + timedelta(seconds=elapsed) if outcome is Outcome.DELIVERED else None,
        )
    return outcome
