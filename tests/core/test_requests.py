"""Request ids: answered, logged, and made when missing."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import pytest

from core.logging import RequestIdFilter, request_id
from core.requests import choose_request_id

if TYPE_CHECKING:
    from collections.abc import Iterator

    from django.test import Client


class Capture(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []
        self.addFilter(RequestIdFilter())

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def captured() -> Iterator[Capture]:
    handler = Capture()
    logging.getLogger().addHandler(handler)
    yield handler
    logging.getLogger().removeHandler(handler)


def test_request_id_from_the_request_is_answered_and_logged(
    client: Client, captured: Capture
) -> None:
    response = client.get("/no-such-page/", HTTP_X_REQUEST_ID="edge-1234")

    assert response.status_code == 404
    assert response["X-Request-ID"] == "edge-1234"
    not_found = [r for r in captured.records if r.name == "django.request"]
    assert not_found
    assert {getattr(record, "request_id", None) for record in not_found} == {"edge-1234"}
    # Outside the request the id is gone again.
    assert request_id.get() == "-"


def test_request_id_is_made_when_missing_or_unacceptable(client: Client) -> None:
    made = client.get("/no-such-page/")["X-Request-ID"]
    replaced = client.get("/no-such-page/", HTTP_X_REQUEST_ID="bad id\nforged line")["X-Request-ID"]

    assert len(made) == 32
    assert replaced != "bad id\nforged line"
    assert len(replaced) == 32
    assert made != replaced


def test_choose_request_id_keeps_plain_ids_only() -> None:
    assert choose_request_id("a1b2-c3.d4:e5_f6") == "a1b2-c3.d4:e5_f6"
    assert choose_request_id("x" * 129) != "x" * 129
    assert choose_request_id("") != ""
    assert choose_request_id(None)
