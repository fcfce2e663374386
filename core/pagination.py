from __future__ import annotations

from typing import TYPE_CHECKING

from rest_framework.exceptions import NotFound
from rest_framework.pagination import PageNumberPagination

if TYPE_CHECKING:
    from django.core.paginator import Paginator
    from rest_framework.request import Request


class StrictPageNumberPagination(PageNumberPagination):
    """Page numbers; ``?page=`` with no number is refused like ``?page=abc`` (404), not
    read as the first page."""

    def get_page_number(self, request: Request, paginator: Paginator) -> int | str:
        value = request.query_params.get(self.page_query_param)
        if value is not None and not value.strip():
            raise NotFound("Invalid page.")
        return super().get_page_number(request, paginator)
