"""Domain exceptions become ``{"detail": ...}`` responses here, for every API view."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from django.http import JsonResponse
from django.template.defaultfilters import filesizeformat
from django.views.decorators.csrf import csrf_exempt
from rest_framework.response import Response
from rest_framework.views import exception_handler

from core.limits import LimitExceeded

if TYPE_CHECKING:
    from typing import Any

    from django.http import HttpRequest


def handle_api_exception(exc: Exception, context: dict[str, Any]) -> Response | None:
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
    return exception_handler(exc, context)


@csrf_exempt
def api_not_found(request: HttpRequest, *args: object, **kwargs: object) -> JsonResponse:
    """Any path under /api/ that no endpoint matches: JSON, like the rest of the API."""
    return JsonResponse({"detail": "Not found."}, status=404)
