"""The upload request API: the owner's ``/api/requests/`` and the sender's
``/api/requests/public/<slug>/`` (DESIGN §11)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.api.auth import authenticated_user
from accounts.scopes import REQUESTS
from archives.limits import UploadWatch
from core.clients import client_ip
from core.parsers import JSONBodyParser, StreamingMultiPartParser
from core.serializers import ErrorSerializer
from inbox.api.serializers import (
    PublicRequestSerializer,
    ReceiptSerializer,
    SubmissionCreateSerializer,
    SubmissionFromUploadsSerializer,
    SubmissionSerializer,
    UploadRequestCreateSerializer,
    UploadRequestSerializer,
    UploadRequestUpdateSerializer,
    public_view,
)
from inbox.api.tus import TOKEN_HEADER
from inbox.models import UploadRequest
from inbox.services import (
    Flooded,
    LimitBelowCount,
    PasswordRefused,
    Receipt,
    RequestGone,
    Sender,
    caps_of,
    check_sender_password,
    count_submission_attempt,
    create_request,
    delete_request,
    find_open_request,
    get_owned_request,
    submit,
    submit_uploads,
    update_request,
)
from resumable.services import UploadsNotUsable

if TYPE_CHECKING:
    from datetime import datetime

    from django.db.models import QuerySet
    from rest_framework.request import Request

TOKEN_PARAMETER = OpenApiParameter(
    TOKEN_HEADER,
    str,
    OpenApiParameter.HEADER,
    description="With uploads: the Upload-Token their creation answered.",
)
PASSWORD_HEADER = OpenApiParameter(
    "X-Request-Password",
    str,
    OpenApiParameter.HEADER,
    description="The upload request's password, when it has one.",
)


class UploadRequestViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    """The owner's upload requests. Closing one is ``PATCH {"closed": true}``."""

    serializer_class = UploadRequestSerializer
    required_scopes = REQUESTS
    # For the schema only; get_queryset scopes every request to its user.
    queryset = UploadRequest.objects.none()
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def get_queryset(self) -> QuerySet[UploadRequest]:
        return UploadRequest.objects.filter(owner=authenticated_user(self.request))

    def get_object(self) -> UploadRequest:
        return get_owned_request(authenticated_user(self.request), self.kwargs["pk"])

    @extend_schema(request=UploadRequestCreateSerializer, responses={201: UploadRequestSerializer})
    def create(self, request: Request) -> Response:
        serializer = UploadRequestCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data: dict[str, Any] = serializer.validated_data
        created = create_request(
            authenticated_user(request),
            name=data.get("name") or "Files for me",
            message=data["message"],
            password=data["password"],
            expires_at=data.get("expires_at"),
            ttl=data.get("ttl"),
            max_submissions=data.get("max_submissions"),
            max_files=data.get("max_files"),
            max_bytes=data.get("max_bytes"),
            archive_ttl=data.get("archive_ttl"),
            archive_max_downloads=data.get("archive_max_downloads"),
            archive_password=data["archive_password"],
            now=timezone.now(),
        )
        body = UploadRequestSerializer(created, context=self.get_serializer_context()).data
        return Response(body, status=status.HTTP_201_CREATED)

    @extend_schema(request=UploadRequestUpdateSerializer)
    def partial_update(self, request: Request, pk: str) -> Response:
        upload_request = self.get_object()
        serializer = UploadRequestUpdateSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        try:
            changed = update_request(
                upload_request, now=timezone.now(), **serializer.validated_data
            )
        except LimitBelowCount as exc:
            raise ValidationError({"max_submissions": [str(exc)]}) from exc
        body = UploadRequestSerializer(changed, context=self.get_serializer_context()).data
        return Response(body)

    @extend_schema(
        responses={204: None},
        description="Delete the request; the archives its submissions made stay yours.",
    )
    def destroy(self, request: Request, pk: str) -> Response:
        delete_request(self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(responses=SubmissionSerializer(many=True))
    @action(detail=True, methods=["get"])
    def submissions(self, request: Request, pk: str) -> Response:
        upload_request = self.get_object()
        rows = upload_request.submissions.select_related("archive").prefetch_related(
            "archive__files"
        )
        page = self.paginate_queryset(rows)
        context = self.get_serializer_context()
        return self.get_paginated_response(
            SubmissionSerializer(page, many=True, context=context).data
        )


def _refusal(exc: RequestGone | PasswordRefused | Flooded) -> Response:
    if isinstance(exc, RequestGone):
        return Response({"detail": str(exc)}, status=status.HTTP_410_GONE)
    if isinstance(exc, Flooded):
        return Response(
            {"detail": str(exc)},
            status=status.HTTP_429_TOO_MANY_REQUESTS,
            headers={"Retry-After": str(exc.retry_after)},
        )
    headers = {"Retry-After": str(exc.retry_after)} if exc.retry_after is not None else {}
    return Response({"detail": str(exc)}, status=exc.status_code, headers=headers)


GONE = OpenApiResponse(
    ErrorSerializer, description="Closed, expired, or all its submissions are used."
)


class PublicRequestView(APIView):
    """What a sender's link opens: the message and the limits."""

    permission_classes = [AllowAny]
    authentication_classes = []

    @extend_schema(
        operation_id="requests_public_retrieve",
        responses={200: PublicRequestSerializer, 404: ErrorSerializer, 410: GONE},
        auth=[],
    )
    def get(self, request: Request, slug: str) -> Response:
        try:
            upload_request = find_open_request(slug, now=timezone.now())
        except RequestGone as exc:
            return _refusal(exc)
        return Response(PublicRequestSerializer(public_view(upload_request)).data)


class SubmissionView(APIView):
    """A sender's files, as multipart ``files``, or as JSON ``uploads`` (finished tus
    uploads, with their ``Upload-Token``), with the sender's name, e-mail and note."""

    permission_classes = [AllowAny]
    authentication_classes = []
    parser_classes = [JSONBodyParser, StreamingMultiPartParser]
    upload_request: UploadRequest | None = None

    def upload_limits(self, request: Request) -> UploadWatch | None:
        """What the multipart parser may receive: the request's and the owner's limits."""
        if self.upload_request is None:
            return None
        return UploadWatch(self.upload_request.owner, caps=caps_of(self.upload_request))

    @extend_schema(
        operation_id="requests_public_submissions_create",
        parameters=[PASSWORD_HEADER, TOKEN_PARAMETER],
        request={
            "multipart/form-data": SubmissionCreateSerializer,
            "application/json": SubmissionFromUploadsSerializer,
        },
        responses={
            201: ReceiptSerializer,
            400: OpenApiResponse(ErrorSerializer, description="Too many files, or a bad field."),
            401: OpenApiResponse(ErrorSerializer, description="A password is required."),
            403: OpenApiResponse(ErrorSerializer, description="Wrong password."),
            404: OpenApiResponse(ErrorSerializer, description="No such upload request."),
            410: GONE,
            413: OpenApiResponse(
                ErrorSerializer,
                description="Over the request's, the archives' or the owner's size limits.",
            ),
            429: OpenApiResponse(
                ErrorSerializer,
                description="Too many wrong passwords, or submissions from your address.",
            ),
            507: OpenApiResponse(ErrorSerializer, description="The server's disk is full."),
        },
        auth=[],
    )
    def post(self, request: Request, slug: str) -> Response:
        now = timezone.now()
        client = client_ip(request.META)
        try:
            upload_request = find_open_request(slug, now=now)
            count_submission_attempt(client=client, now=now)
            check_sender_password(
                upload_request, request.headers.get("X-Request-Password"), client=client, now=now
            )
        except (RequestGone, PasswordRefused, Flooded) as exc:
            return _refusal(exc)
        # The body is read only now, within the request's limits (upload_limits).
        self.upload_request = upload_request
        try:
            if request.content_type.split(";")[0].strip() == "application/json":
                receipt = self._from_uploads(request, upload_request, client=client, now=now)
            else:
                serializer = SubmissionCreateSerializer(data=request.data)
                serializer.is_valid(raise_exception=True)
                data: dict[str, Any] = serializer.validated_data
                receipt = submit(
                    upload_request,
                    files=data["files"],
                    paths=data.get("paths"),
                    sender=Sender.from_fields(data, ip=client),
                    now=now,
                )
        except RequestGone as exc:
            return _refusal(exc)
        return Response(receipt_body(receipt), status=status.HTTP_201_CREATED)

    def _from_uploads(
        self, request: Request, upload_request: UploadRequest, *, client: str, now: datetime
    ) -> Receipt:
        serializer = SubmissionFromUploadsSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data: dict[str, Any] = serializer.validated_data
        try:
            return submit_uploads(
                upload_request,
                upload_ids=data["uploads"],
                token=request.headers.get(TOKEN_HEADER, ""),
                sender=Sender.from_fields(data, ip=client),
                now=now,
            )
        except UploadsNotUsable as exc:
            raise ValidationError({"uploads": [str(exc)]}) from exc


def receipt_body(receipt: Receipt) -> dict[str, Any]:
    return ReceiptSerializer(
        {
            "receipt": {
                "id": receipt.id,
                "request": receipt.request,
                "received_at": receipt.received_at,
                "total_size": receipt.total_size,
                "files": receipt.files,
            }
        }
    ).data
