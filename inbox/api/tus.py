"""tus uploads without an account, into an upload request:
``/api/requests/public/<slug>/uploads/`` (creation) and ``.../uploads/<id>`` (HEAD,
PATCH, DELETE). The protocol is resumable's; what differs is who may act: the creation
answers an ``Upload-Token`` header, and only a request carrying that token reaches the
upload, resumes it or submits it. Sending the token of an earlier upload at creation
binds the new upload to the same token, so one token covers a sender's whole submission.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.urls import reverse
from django.utils import timezone
from rest_framework.exceptions import APIException
from rest_framework.permissions import AllowAny

from core.clients import client_ip
from inbox.services import (
    Flooded,
    PasswordRefused,
    RequestGone,
    binding_key,
    check_sender_password,
    count_upload_creation,
    find_open_request,
    upload_binding,
)
from resumable.api.views import UploadsView, UploadView
from resumable.services import get_bound_upload

if TYPE_CHECKING:
    from rest_framework.permissions import BasePermission
    from rest_framework.request import Request
    from rest_framework.response import Response

    from accounts.models import User
    from inbox.models import UploadRequest
    from resumable.models import ResumableUpload
    from resumable.services import Binding

TOKEN_HEADER = "Upload-Token"


class Refused(APIException):
    """A refusal of the request (410), of the sender's password (401, 403, 429) or of one
    upload too many from the address (429)."""

    def __init__(self, exc: RequestGone | PasswordRefused | Flooded) -> None:
        super().__init__(str(exc))
        if isinstance(exc, RequestGone):
            self.status_code, self.wait = 410, None
        elif isinstance(exc, Flooded):
            self.status_code, self.wait = 429, exc.retry_after
        else:
            self.status_code, self.wait = exc.status_code, exc.retry_after
        # DRF's handler answers Retry-After from ``wait``.


class RequestTus:
    """What both views share: anyone may call them; the request must take files."""

    authentication_classes: list = []
    kwargs: dict

    def get_permissions(self) -> list[BasePermission]:
        return [AllowAny()]

    def open_request(self, request: Request) -> UploadRequest:
        try:
            return find_open_request(self.kwargs["slug"], now=timezone.now())
        except RequestGone as exc:
            raise Refused(exc) from exc


class RequestUploadsView(RequestTus, UploadsView):
    def post(self, request: Request, slug: str) -> Response:
        return super().post(request)

    def creator(self, request: Request) -> tuple[User, Binding | None]:
        upload_request = self.open_request(request)
        client, now = client_ip(request.META), timezone.now()
        try:
            check_sender_password(
                upload_request, request.headers.get("X-Request-Password"), client=client, now=now
            )
            count_upload_creation(client=client, now=now)
        except (PasswordRefused, Flooded) as exc:
            raise Refused(exc) from exc
        return upload_request.owner, upload_binding(
            upload_request, request.headers.get(TOKEN_HEADER)
        )

    def location(self, upload: ResumableUpload) -> str:
        return reverse("inbox-api:request-upload", args=[self.kwargs["slug"], upload.id])


class RequestUploadView(RequestTus, UploadView):
    def head(self, request: Request, slug: str, upload_id: str) -> Response:
        return super().head(request, upload_id)

    def patch(self, request: Request, slug: str, upload_id: str) -> Response:
        return super().patch(request, upload_id)

    def delete(self, request: Request, slug: str, upload_id: str) -> Response:
        return super().delete(request, upload_id)

    def find_upload(self, request: Request, upload_id: str) -> ResumableUpload:
        upload_request = self.open_request(request)
        return get_bound_upload(
            binding_key(upload_request),
            request.headers.get(TOKEN_HEADER, ""),
            upload_id,
            now=timezone.now(),
        )
