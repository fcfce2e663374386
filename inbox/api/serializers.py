"""Shapes of the upload request API: the owner's (create, edit, read, submissions) and
the sender's (the public view, a submission and its receipt)."""

from __future__ import annotations

from datetime import datetime  # noqa: TC003 (drf-spectacular reads the hints at run time)
from typing import Any

from django.conf import settings
from django.core.validators import validate_email
from django.utils import timezone
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from archives.addresses import absolute_url
from archives.api.serializers import (
    ArchiveNameField,
    ArchiveSerializer,
    FilePartsSerializer,
    upload_ids_field,
)
from core.serializers import StrictSerializer
from inbox.models import Submission, UploadRequest

MAX_MESSAGE = 10_000
MAX_NOTE = 10_000
MAX_SUBMISSIONS = 1_000_000
STATUSES = ["open", "closed", "expired", "full"]


def _password_field(*, help_text: str, default: bool) -> serializers.CharField:
    extra: dict[str, Any] = {"default": ""} if default else {}
    return serializers.CharField(
        max_length=128,
        required=False,
        allow_blank=True,
        trim_whitespace=False,
        help_text=help_text,
        **extra,
    )


def _count_field(maximum: int, help_text: str) -> serializers.IntegerField:
    return serializers.IntegerField(
        required=False, allow_null=True, min_value=1, max_value=maximum, help_text=help_text
    )


class UploadRequestCreateSerializer(StrictSerializer):
    """A new upload request (DESIGN §11). Give ``expires_at`` or ``ttl``, not both;
    neither: ``UPLOAD_REQUEST_DEFAULT_TTL``."""

    name = ArchiveNameField()
    message = serializers.CharField(
        max_length=MAX_MESSAGE, required=False, allow_blank=True, default="",
        help_text="Shown to senders.",
    )  # fmt: skip
    password = _password_field(help_text="Senders must give it to submit.", default=True)
    expires_at = serializers.DateTimeField(required=False, help_text="When it stops taking files.")
    ttl = serializers.IntegerField(
        required=False, min_value=60, max_value=settings.ARCHIVE_MAX_TTL,
        help_text="Lifetime in seconds from now (instead of expires_at).",
    )  # fmt: skip
    max_submissions = _count_field(MAX_SUBMISSIONS, "Submissions taken; null: no limit.")
    max_files = _count_field(
        settings.ARCHIVE_MAX_FILES, "Files per submission; null: the archives' limit."
    )
    max_bytes = _count_field(
        settings.ARCHIVE_MAX_BYTES, "Bytes per submission; null: the archives' limit."
    )
    archive_ttl = serializers.IntegerField(
        required=False, allow_null=True, min_value=60, max_value=settings.ARCHIVE_MAX_TTL,
        help_text="Lifetime in seconds of each archive made; null: the default.",
    )  # fmt: skip
    archive_max_downloads = _count_field(
        settings.ARCHIVE_MAX_DOWNLOADS, "Downloads each archive made allows; null: no limit."
    )
    archive_password = _password_field(
        help_text="The password of each archive made; empty: none.", default=True
    )

    def validate(self, attrs: dict) -> dict:
        attrs = super().validate(attrs)
        if "expires_at" in attrs and "ttl" in attrs:
            raise serializers.ValidationError({"ttl": ["Give expires_at or ttl, not both."]})
        expires_at = attrs.get("expires_at")
        if expires_at is not None:
            now = timezone.now()
            if expires_at <= now:
                raise serializers.ValidationError({"expires_at": ["Must be in the future."]})
            if (expires_at - now).total_seconds() > settings.ARCHIVE_MAX_TTL:
                raise serializers.ValidationError(
                    {"expires_at": [f"At most {settings.ARCHIVE_MAX_TTL} seconds from now."]}
                )
        return attrs


class UploadRequestUpdateSerializer(UploadRequestCreateSerializer):
    """Changes to a request: any field of its creation except ``expires_at``, and
    ``closed`` (true closes it: senders get 410; false opens it again)."""

    name = ArchiveNameField()
    message = serializers.CharField(max_length=MAX_MESSAGE, required=False, allow_blank=True)
    password = _password_field(help_text="An empty string removes the password.", default=False)
    archive_password = _password_field(
        help_text="An empty string: the archives made from now on have none.", default=False
    )
    expires_at = None  # type: ignore[assignment]
    closed = serializers.BooleanField(required=False, help_text="true closes the request.")


class UploadRequestSerializer(serializers.ModelSerializer):
    """The owner's view of an upload request."""

    url = serializers.SerializerMethodField(help_text="The page senders open: /r/<slug>/.")
    status = serializers.SerializerMethodField()
    has_password = serializers.BooleanField(read_only=True)
    has_archive_password = serializers.SerializerMethodField()
    submissions_left = serializers.IntegerField(read_only=True, allow_null=True)

    class Meta:
        model = UploadRequest
        fields = [
            "id",
            "slug",
            "url",
            "name",
            "message",
            "status",
            "has_password",
            "expires_at",
            "max_submissions",
            "submissions_count",
            "submissions_left",
            "max_files",
            "max_bytes",
            "archive_ttl",
            "archive_max_downloads",
            "has_archive_password",
            "closed_at",
            "created_at",
        ]

    def get_url(self, upload_request: UploadRequest) -> str:
        return sender_page_url(upload_request.slug, request=self.context.get("request"))

    @extend_schema_field(serializers.ChoiceField(choices=STATUSES))
    def get_status(self, upload_request: UploadRequest) -> str:
        return request_status(upload_request, now=timezone.now())

    def get_has_archive_password(self, upload_request: UploadRequest) -> bool:
        return bool(upload_request.archive_password)


def sender_page_url(slug: str, *, request: Any = None) -> str:
    return absolute_url(f"/r/{slug}/", request=request)


def request_status(upload_request: UploadRequest, *, now: datetime) -> str:
    if upload_request.closed_at is not None:
        return "closed"
    if upload_request.expires_at <= now:
        return "expired"
    if upload_request.submissions_left == 0:
        return "full"
    return "open"


class SubmissionSerializer(serializers.ModelSerializer):
    """One submission as the owner sees it, with the archive it became (null once the
    owner deleted that archive)."""

    archive = ArchiveSerializer(read_only=True, allow_null=True)

    class Meta:
        model = Submission
        fields = ["id", "sender_name", "sender_email", "note", "ip", "created_at", "archive"]


class PublicRequestSerializer(serializers.Serializer):
    """What a sender sees: the message and the limits of one submission, nothing of the
    owner."""

    slug = serializers.CharField()
    name = serializers.CharField()
    message = serializers.CharField()
    has_password = serializers.BooleanField()
    expires_at = serializers.DateTimeField()
    max_files = serializers.IntegerField(help_text="Files one submission may hold.")
    max_bytes = serializers.IntegerField(help_text="Bytes one submission may hold in all.")
    max_file_bytes = serializers.IntegerField(help_text="Bytes one file may hold.")
    submissions_left = serializers.IntegerField(allow_null=True)


def public_view(upload_request: UploadRequest) -> dict[str, Any]:
    return {
        "slug": upload_request.slug,
        "name": upload_request.name,
        "message": upload_request.message,
        "has_password": upload_request.has_password,
        "expires_at": upload_request.expires_at,
        "max_files": min(upload_request.max_files or settings.ARCHIVE_MAX_FILES,
                         settings.ARCHIVE_MAX_FILES),
        "max_bytes": min(upload_request.max_bytes or settings.ARCHIVE_MAX_BYTES,
                         settings.ARCHIVE_MAX_BYTES),
        "max_file_bytes": settings.ARCHIVE_FILE_MAX_BYTES,
        "submissions_left": upload_request.submissions_left,
    }  # fmt: skip


def _email_address(value: str) -> None:
    # A function, not the validator itself: the schema then says no "format: email",
    # which would refuse the empty default.
    validate_email(value)


class SenderSerializer(StrictSerializer):
    """Who sends, and a note to the owner; all optional."""

    sender_name = serializers.CharField(
        max_length=200, required=False, allow_blank=True, default=""
    )
    sender_email = serializers.CharField(
        max_length=254,
        required=False,
        allow_blank=True,
        default="",
        validators=[_email_address],
        help_text="An e-mail address, or empty.",
    )
    note = serializers.CharField(max_length=MAX_NOTE, required=False, allow_blank=True, default="")


class SubmissionCreateSerializer(SenderSerializer, FilePartsSerializer):
    """The multipart submission: who sends, and the file parts."""


class SubmissionFromUploadsSerializer(SenderSerializer):
    """A submission of finished tus uploads (``/api/requests/public/<slug>/uploads/``),
    sent with the ``Upload-Token`` they were made with."""

    uploads = upload_ids_field(
        "Ids of finished uploads (the last part of each Location), in the order of the "
        "files. Used uploads are consumed."
    )


class ReceivedFileSerializer(serializers.Serializer):
    name = serializers.CharField(help_text="The file's name in the archive.")
    size = serializers.IntegerField()
    sha256 = serializers.CharField(help_text="Of the bytes received, hex.")


class ReceiptBodySerializer(serializers.Serializer):
    id = serializers.CharField(help_text="The submission's id.")
    request = serializers.CharField(help_text="The upload request's name.")
    received_at = serializers.DateTimeField()
    total_size = serializers.IntegerField()
    files = ReceivedFileSerializer(many=True)


class ReceiptSerializer(serializers.Serializer):
    receipt = ReceiptBodySerializer()
