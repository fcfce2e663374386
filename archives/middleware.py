"""Resumed ranges of a download, answered before the rest of the request cycle."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.urls import Resolver404, resolve

from archives.delivery import resume_download

if TYPE_CHECKING:
    from collections.abc import Callable

    from django.http import HttpRequest, HttpResponseBase

# The share download of the API and of the pages: the two URLs a resume comes to.
DOWNLOAD_VIEWS = frozenset({"archives-api:share-download", "archives:download"})


class ResumedRangeMiddleware:
    """Serves a resumed range (``resume_download``) right below the middleware that
    secures every response: a download manager fetches a large ZIP as many ranges, and
    sessions, locale, CSRF, authentication, messages and the API framework have nothing
    to do for them. Any other request goes on down the stack."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        if "HTTP_RANGE" in request.META:
            try:
                match = resolve(request.path_info)
            except Resolver404:
                match = None
            if match is not None and match.view_name in DOWNLOAD_VIEWS:
                response = resume_download(request, match.kwargs["slug"])
                if response is not None:
                    return response
        return self.get_response(request)
