"""Page numbers: an empty ``?page=`` is refused like a bad one, not read as page 1."""

from __future__ import annotations

import pytest
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.test import APIRequestFactory

from core.pagination import StrictPageNumberPagination

ITEMS = list(range(5))


def page_of(query: str) -> list[int]:
    paginator = StrictPageNumberPagination()
    paginator.page_size = 2
    request = Request(APIRequestFactory().get(f"/items/{query}"))
    return list(paginator.paginate_queryset(ITEMS, request) or [])


def test_no_page_parameter_is_the_first_page() -> None:
    assert page_of("") == [0, 1]


def test_a_page_number_is_that_page() -> None:
    assert page_of("?page=3") == [4]


@pytest.mark.parametrize("query", ["?page=", "?page=%20", "?page=abc", "?page=9"])
def test_empty_bad_or_missing_pages_are_404(query: str) -> None:
    with pytest.raises(NotFound):
        page_of(query)
