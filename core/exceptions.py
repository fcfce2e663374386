"""Domain exceptions become ``{"detail": ...}`` responses here, for every API view, and
for pages where the answer is the same whatever the page (a full disk)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from django.http import JsonResponse, UnreadablePostError
from django.template.defaultfilters import filesizeformat
from django.views.decorators.csrf import csrf_exempt
from rest_framework.response import Response
from rest_framework.views import exception_handler

from core.limits import LimitExceeded
from core.media import StorageFull, is_storage_full

if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

    from django.http import HttpRequest, HttpResponse

# RFC 4918 §11.5: the server cannot store what the request needs stored.
INSUFFICIENT_STORAGE = 507


def _storage_full_detail() -> dict[str, str]:
    return {"detail": str(StorageFull())}


def handle_api_exception(exc: Exception, context: dict[str, Any]) -> Response | None:
    if is_storage_full(exc):
        return Response(_storage_full_detail(), status=INSUFFICIENT_STORAGE)
    if isinstance(exc, LimitExceeded):
        return Response({"detail": str(exc)}, status=exc.status_code)
    if isinstance(exc, TooManyFilesSent):
        return Response({"detail": "Too many files in one request."}, status=400)
    if isinstance(exc, TooManyFieldsSent):
        return Response({"detail": "Too many fields in one request."}, status=400)
    if isinstance(exc, RequestDataTooBig):
        limit = filesizeformat(settings.DATA_UPLOAD_MAX_MEMORY_SIZE)
        return Response(
            {
                "detail": f"The text fields of the request are larger than {limit} in all: "
                "shorten the description, and send each file as a file part with a file name."
            },
            status=413,
        )
    if isinstance(exc, UnreadablePostError):
        # The client stopped sending, or was cut off for sending too slowly
        # (core/bodies.py): its fault, not a server error.
        return Response({"detail": "The request body could not be read whole."}, status=400)
    return exception_handler(exc, context)


class StorageFullMiddleware:
    """A page whose upload found the disk full answers 507 with a JSON ``detail``, as
    the API does, instead of a 500; the services have removed what they stored."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exc: Exception) -> JsonResponse | None:
        if is_storage_full(exc):
            return JsonResponse(_storage_full_detail(), status=INSUFFICIENT_STORAGE)
        return None


@csrf_exempt
def api_not_found(request: HttpRequest, *args: object, **kwargs: object) -> JsonResponse:
    """Any path under /api/ that no endpoint matches: JSON, like the rest of the API."""
    return JsonResponse({"detail": "Not found."}, status=404)
