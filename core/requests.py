"""Request ids: each request is known by one id in its response and in every log record
written while it is served."""

from __future__ import annotations

import re
import uuid
from typing import TYPE_CHECKING

from django.core.signals import request_finished

from core.logging import NO_REQUEST, request_id

if TYPE_CHECKING:
    from collections.abc import Callable

    from django.http import HttpRequest, HttpResponseBase

HEADER = "X-Request-ID"
# An id from the proxy or the client is kept only if it is short and plain, so it cannot
# forge log lines or blow up their size.
_ACCEPTED_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


def choose_request_id(given: str | None) -> str:
    """Return ``given`` when it is an acceptable id, else a new random one."""
    if given and _ACCEPTED_ID.match(given):
        return given
    return uuid.uuid4().hex


class RequestIdMiddleware:
    """Takes ``X-Request-ID`` from the request (nginx sets it) or makes one, exposes it
    to logging for the length of the request and returns it in the response header."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        current = choose_request_id(request.headers.get(HEADER))
        # Not reset on the way out: Django logs 4xx and 5xx responses after the middleware
        # returns, and a streamed ZIP is sent later still. ``request_finished`` (the
        # response closed) resets it, so the next request on this thread starts clean.
        request_id.set(current)
        response = self.get_response(request)
        response[HEADER] = current
        return response


def forget_request_id(**kwargs: object) -> None:
    request_id.set(NO_REQUEST)


request_finished.connect(forget_request_id, dispatch_uid="core.requests.forget_request_id")
