"""The tus 1.0.0 endpoints: /api/uploads/. Core, and the extensions creation,
creation-with-upload, termination, expiration and checksum.

Auth is the API's (token, or session with CSRF); an upload is visible to its creator only.
Errors are ``{"detail": ...}`` like the rest of the API, with the status tus asks for.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypedDict

from django.conf import settings
from django.urls import reverse
from django.utils import timezone
from django.utils.http import http_date
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.exceptions import APIException, ParseError
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.api.auth import authenticated_user
from accounts.api.permissions import KeyScopePermission
from accounts.scopes import UPLOADS
from resumable.checksums import (
    ALGORITHMS,
    Checksum,
    ChecksumMismatch,
    UnusableChecksum,
    parse_checksum,
)
from resumable.services import (
    BadUploadRequest,
    Binding,
    OffsetMismatch,
    UploadBusy,
    UploadGone,
    create_upload,
    get_owned_upload,
    parse_metadata,
    receive_bytes,
    start_upload,
    terminate_upload,
)

if TYPE_CHECKING:
    from django.http import HttpRequest
    from django.http.response import HttpResponseBase
    from rest_framework.permissions import BasePermission
    from rest_framework.request import Request

    from accounts.models import User
    from resumable.models import ResumableUpload
    from resumable.partials import BodyStream

TUS_VERSION = "1.0.0"
TUS_EXTENSIONS = "creation,creation-with-upload,termination,expiration,checksum"
OFFSET_CONTENT_TYPE = "application/offset+octet-stream"


class UnsupportedVersion(APIException):
    status_code = status.HTTP_412_PRECONDITION_FAILED
    default_detail = f"This server speaks tus {TUS_VERSION}: send Tus-Resumable: {TUS_VERSION}."


class Conflict(APIException):
    status_code = status.HTTP_409_CONFLICT


class Locked(APIException):
    status_code = status.HTTP_423_LOCKED


class Gone(APIException):
    status_code = status.HTTP_410_GONE
    default_detail = "This upload expired and was removed; start it again."


class WrongContentType(APIException):
    status_code = status.HTTP_415_UNSUPPORTED_MEDIA_TYPE
    default_detail = f"Send the bytes with Content-Type: {OFFSET_CONTENT_TYPE}."


class LengthRequired(APIException):
    status_code = status.HTTP_411_LENGTH_REQUIRED
    default_detail = (
        "Send the bytes with a Content-Length: this server does not read bodies of unknown "
        "length (chunked)."
    )


class Mismatch(APIException):
    # tus checksum extension: 460 Checksum Mismatch.
    status_code = 460


def _whole_number(request: Request, header: str) -> int:
    value = request.headers.get(header, "")
    if not value.isdigit() or not value.isascii():
        raise ParseError(f"{header} must be a whole number of bytes, not {value!r}.")
    return int(value)


def _carries_bytes(request: Request) -> bool:
    return request.content_type.split(";")[0].strip() == OFFSET_CONTENT_TYPE


def _body(request: Request) -> tuple[BodyStream | None, int]:
    """The raw body and its declared length, never ``request.data``: the service reads it
    in blocks. Raises ``LengthRequired`` without a length: WSGI gives no stream then."""
    declared = request.headers.get("Content-Length", "")
    if not declared.isdigit() or not declared.isascii():
        raise LengthRequired
    return request.stream, int(declared)


class Chunk(TypedDict):
    """What a request carries to append: its body, the body's length and checksum."""

    body: BodyStream | None
    content_length: int
    checksum: Checksum | None


def _chunk(request: Request) -> Chunk:
    """The bytes of a PATCH or of a creation's body. Raises ``WrongContentType`` (415),
    ``LengthRequired`` (411), ``ParseError`` for an unusable checksum (400)."""
    if not _carries_bytes(request):
        raise WrongContentType
    checksum = _checksum(request)
    body, length = _body(request)
    return Chunk(body=body, content_length=length, checksum=checksum)


def _checksum(request: Request) -> Checksum | None:
    header = request.headers.get("Upload-Checksum")
    if header is None:
        return None
    try:
        return parse_checksum(header)
    except UnusableChecksum as exc:
        raise ParseError(str(exc)) from exc


@extend_schema(exclude=True)  # tus is specified by its own protocol, not by OpenAPI.
class TusView(APIView):
    """Protocol frame: the version check and the tus headers on every answer."""

    required_scopes = UPLOADS

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        # tus core: X-HTTP-Method-Override is the request's method and the actual one is
        # ignored (clients that cannot send PATCH or DELETE POST instead). Set before
        # authentication, so the CSRF check of a session sees the method that acts.
        override = request.headers.get("X-HTTP-Method-Override", "").strip()
        if override:
            request.method = override.upper()
        return super().dispatch(request, *args, **kwargs)

    def get_permissions(self) -> list[BasePermission]:
        # Discovery (OPTIONS) is open, as tus clients ask before they authenticate.
        if self.request.method == "OPTIONS":
            return [AllowAny()]
        return [IsAuthenticated(), KeyScopePermission()]

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        if request.method != "OPTIONS" and request.headers.get("Tus-Resumable") != TUS_VERSION:
            raise UnsupportedVersion
        super().initial(request, *args, **kwargs)

    def finalize_response(self, request: Request, response: Any, *args: Any, **kwargs: Any) -> Any:
        response = super().finalize_response(request, response, *args, **kwargs)
        response["Tus-Resumable"] = TUS_VERSION
        if response.status_code == status.HTTP_412_PRECONDITION_FAILED:
            response["Tus-Version"] = TUS_VERSION
        if response.status_code == Mismatch.status_code:
            response.reason_phrase = "Checksum Mismatch"
        return response

    def options(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        response = Response(status=status.HTTP_204_NO_CONTENT)
        response["Tus-Version"] = TUS_VERSION
        response["Tus-Extension"] = TUS_EXTENSIONS
        response["Tus-Checksum-Algorithm"] = ",".join(ALGORITHMS)
        response["Tus-Max-Size"] = str(settings.ARCHIVE_FILE_MAX_BYTES)
        return response

    def _upload(self, request: Request, upload_id: str) -> ResumableUpload:
        try:
            return self.find_upload(request, upload_id)
        except UploadGone as exc:
            raise Gone from exc

    def find_upload(self, request: Request, upload_id: str) -> ResumableUpload:
        """The upload the request may act on: the signed-in user's own. An app that binds
        uploads sent without an account finds them otherwise (``get_bound_upload``)."""
        return get_owned_upload(authenticated_user(request), upload_id, now=timezone.now())


def _expiry_headers(response: Response, upload: ResumableUpload) -> Response:
    response["Upload-Offset"] = str(upload.offset)
    response["Upload-Expires"] = http_date(upload.expires_at.timestamp())
    return response


class UploadsView(TusView):
    """``POST /api/uploads/``: start an upload (creation), with its first bytes in the
    body if it likes (creation-with-upload)."""

    def post(self, request: Request) -> Response:
        if "Upload-Length" not in request.headers and "Upload-Defer-Length" in request.headers:
            raise ParseError(
                "Send Upload-Length: this server needs the size at creation "
                "(creation-defer-length is not offered)."
            )
        length = _whole_number(request, "Upload-Length")
        try:
            metadata = parse_metadata(request.headers.get("Upload-Metadata", ""))
        except BadUploadRequest as exc:
            raise ParseError(str(exc)) from exc
        owner, binding = self.creator(request)
        now = timezone.now()
        sends_bytes = request.headers.get("Content-Length", "0") not in {"", "0"}
        if not (sends_bytes or _carries_bytes(request)):
            upload = create_upload(
                owner, length=length, metadata=metadata, now=now, binding=binding
            )
        else:
            try:
                upload = start_upload(
                    owner, length=length, metadata=metadata, now=now, binding=binding,
                    **_chunk(request),
                )  # fmt: skip
            except BadUploadRequest as exc:
                raise ParseError(str(exc)) from exc
            except ChecksumMismatch as exc:
                raise Mismatch(f"{exc} No upload was created: send the request again.") from exc
        response = Response(status=status.HTTP_201_CREATED)
        response["Location"] = request.build_absolute_uri(self.location(upload))
        if binding is not None:
            response["Upload-Token"] = binding.token
        return _expiry_headers(response, upload)

    def creator(self, request: Request) -> tuple[User, Binding | None]:
        """Whose quota a new upload counts against, and what binds it: the signed-in
        user's own upload here; an app taking uploads without an account binds them."""
        return authenticated_user(request), None

    def location(self, upload: ResumableUpload) -> str:
        return reverse("resumable:upload", args=[upload.id])


class UploadView(TusView):
    """``/api/uploads/<id>``: where it stands (HEAD), more bytes (PATCH), cancel (DELETE)."""

    def head(self, request: Request, upload_id: str) -> Response:
        upload = self._upload(request, upload_id)
        response = Response(status=status.HTTP_200_OK)
        response["Upload-Length"] = str(upload.length)
        if upload.metadata:
            response["Upload-Metadata"] = upload.metadata
        response["Cache-Control"] = "no-store"
        return _expiry_headers(response, upload)

    def patch(self, request: Request, upload_id: str) -> Response:
        upload = self._upload(request, upload_id)
        offset = _whole_number(request, "Upload-Offset")
        try:
            upload = receive_bytes(upload, offset=offset, now=timezone.now(), **_chunk(request))
        except OffsetMismatch as exc:
            raise Conflict(str(exc)) from exc
        except UploadBusy as exc:
            raise Locked(str(exc)) from exc
        except ChecksumMismatch as exc:
            raise Mismatch(str(exc)) from exc
        return _expiry_headers(Response(status=status.HTTP_204_NO_CONTENT), upload)

    def delete(self, request: Request, upload_id: str) -> Response:
        terminate_upload(self._upload(request, upload_id))
        return Response(status=status.HTTP_204_NO_CONTENT)
