"""The API's exception handler: each domain error its status and ``detail``; the rest as
DRF answers them; unknown API paths a JSON 404."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import pytest
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from django.http import UnreadablePostError
from django.test import RequestFactory
from rest_framework.exceptions import NotAuthenticated

from core.exceptions import api_not_found, handle_api_exception
from core.limits import LimitExceeded

if TYPE_CHECKING:
    from pytest_django.fixtures import Settings as DjangoSettings


def answer(exc: Exception) -> tuple[int, object]:
    response = handle_api_exception(exc, {})
    assert response is not None
    return response.status_code, response.data


@pytest.mark.parametrize(
    ("exc", "status", "detail"),
    [
        (LimitExceeded("Over ARCHIVE_MAX_BYTES."), 413, "Over ARCHIVE_MAX_BYTES."),
        (LimitExceeded("Too many uploads.", status_code=429), 429, "Too many uploads."),
        (TooManyFilesSent(), 400, "Too many files in one request."),
        (TooManyFieldsSent(), 400, "Too many fields in one request."),
        (UnreadablePostError("reset"), 400, "The request body could not be read whole."),
    ],
)
def test_domain_errors_become_their_status_and_detail(
    exc: Exception, status: int, detail: str
) -> None:
    assert answer(exc) == (status, {"detail": detail})


def test_text_fields_over_the_limit_are_413_quoting_it(settings: DjangoSettings) -> None:
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024

    status, data = answer(RequestDataTooBig())

    assert status == 413
    assert isinstance(data, dict)
    limit = "2.0\xa0MB"  # filesizeformat keeps the number and its unit on one line
    assert data["detail"].startswith(f"The text fields of the request are larger than {limit}")


def test_other_errors_are_answered_as_drf_does() -> None:
    status, _ = answer(NotAuthenticated())

    assert status == 401
    assert handle_api_exception(ValueError("a bug"), {}) is None


def test_unknown_api_paths_are_a_json_404() -> None:
    response = api_not_found(RequestFactory().post("/api/nothing/"))

    assert response.status_code == 404
    assert json.loads(response.content) == {"detail": "Not found."}
