"""Shapes of the archive API: input serializers validate, output ones render the contract."""

from __future__ import annotations

from datetime import datetime  # noqa: TC003 (drf-spectacular reads the hints at run time)
from typing import Any

from django.conf import settings
from django.core.validators import RegexValidator
from django.utils import timezone
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from archives.addresses import share_download_url, share_url
from archives.models import Archive, ArchiveFile, AuditEntry, Link, Status
from archives.names import (
    NAME_MESSAGE,
    READABLE_CHARACTER,
    BadArchiveName,
    clean_archive_name,
)
from core.serializers import StrictSerializer

MAX_DESCRIPTION = 10_000


def _ttl_field(*, required: bool) -> serializers.IntegerField:
    return serializers.IntegerField(
        required=required,
        min_value=60,
        max_value=settings.ARCHIVE_MAX_TTL,
        help_text="Lifetime in seconds from now.",
    )


def _limit_field(*, allow_null: bool) -> serializers.IntegerField:
    return serializers.IntegerField(
        required=False,
        allow_null=allow_null,
        min_value=1,
        max_value=settings.ARCHIVE_MAX_DOWNLOADS,
        help_text=(
            "Downloads allowed; null for no limit."
            if allow_null
            else "Downloads allowed; leave out for no limit."
        ),
    )


class ArchiveNameField(serializers.CharField):
    """An archive's name, cleaned as it is stored (``clean_archive_name``: control and
    format characters removed, trimmed) before its length is checked. The pattern states
    in the schema the rule ``clean_archive_name`` checks: one readable character."""

    def __init__(self) -> None:
        super().__init__(
            max_length=200,
            required=False,
            validators=[RegexValidator(READABLE_CHARACTER, message=NAME_MESSAGE)],
        )

    def to_internal_value(self, data: str) -> str:
        try:
            return clean_archive_name(super().to_internal_value(data))
        except BadArchiveName as exc:
            raise serializers.ValidationError(str(exc)) from exc


class NewArchiveSerializer(StrictSerializer):
    """The owner's choices for a new archive, whichever way its files arrive."""

    name = ArchiveNameField()
    description = serializers.CharField(
        max_length=MAX_DESCRIPTION, required=False, allow_blank=True, default=""
    )
    password = serializers.CharField(
        max_length=128, required=False, allow_blank=True, default="", trim_whitespace=False
    )
    ttl = _ttl_field(required=False)
    max_downloads = _limit_field(allow_null=False)


class FilePartsSerializer(StrictSerializer):
    """Files sent as multipart parts, with their optional paths in a dropped folder: an
    archive's upload, and a submission to an upload request."""

    files = serializers.ListField(
        child=serializers.FileField(allow_empty_file=True, use_url=False),
        allow_empty=False,
        min_length=1,
        max_length=settings.ARCHIVE_MAX_FILES,
        help_text="The files, one part each.",
    )
    paths = serializers.ListField(
        child=serializers.CharField(max_length=1024, allow_blank=True, trim_whitespace=False),
        required=False,
        max_length=settings.ARCHIVE_MAX_FILES,
        help_text=(
            "Optional: each file's path relative to a dropped folder (e.g. photos/2024/a.jpg),"
            " in the order of the files; the ZIP keeps the folders."
        ),
    )

    def validate(self, attrs: dict) -> dict:
        attrs = super().validate(attrs)
        paths = attrs.get("paths")
        if paths and len(paths) != len(attrs["files"]):
            raise serializers.ValidationError(
                {"paths": [f"Give one path per file: {len(attrs['files'])} files, "
                           f"{len(paths)} paths."]}
            )  # fmt: skip
        return attrs


def upload_ids_field(help_text: str) -> serializers.ListField:
    """The ``uploads`` of a JSON creation: ids of finished tus uploads, at least one, at
    most ``ARCHIVE_MAX_FILES``."""
    return serializers.ListField(
        child=serializers.CharField(max_length=32),
        allow_empty=False,
        min_length=1,
        max_length=settings.ARCHIVE_MAX_FILES,
        help_text=help_text,
    )


class ArchiveCreateSerializer(NewArchiveSerializer, FilePartsSerializer):
    """The multipart creation: the archive's settings and its file parts."""


class ArchiveFromUploadsSerializer(NewArchiveSerializer):
    """An archive from finished resumable uploads (``POST /api/uploads/``, tus 1.0)."""

    uploads = upload_ids_field(
        "Ids of finished uploads (the last part of each upload's Location), in the order "
        "of the files; each upload's relativePath keeps its folders in the ZIP. Used "
        "uploads are consumed."
    )


class ArchiveUpdateSerializer(StrictSerializer):
    name = ArchiveNameField()

    description = serializers.CharField(
        max_length=MAX_DESCRIPTION, required=False, allow_blank=True
    )
    password = serializers.CharField(
        max_length=128,
        required=False,
        allow_blank=True,
        trim_whitespace=False,
        help_text="An empty string removes the password.",
    )
    ttl = _ttl_field(required=False)
    max_downloads = _limit_field(allow_null=True)


class ArchiveFileSerializer(serializers.ModelSerializer):
    class Meta:
        model = ArchiveFile
        fields = ["name", "size", "sha256"]


class AbsoluteUrls:
    """Share URLs on the host of the request in the context, or on SITE_URL without one."""

    context: dict[str, Any]

    def _share_url(self, slug: str) -> str:
        return share_url(slug, request=self.context.get("request"))

    def _download_url(self, slug: str) -> str:
        return share_download_url(slug, request=self.context.get("request"))

    def _now(self) -> datetime:
        return self.context.get("now") or timezone.now()


class ArchiveSerializer(AbsoluteUrls, serializers.ModelSerializer):
    """The owner's view of an archive, the contract of DESIGN section 3."""

    status = serializers.SerializerMethodField()
    files = ArchiveFileSerializer(many=True, read_only=True)
    has_password = serializers.BooleanField(read_only=True)
    downloads_left = serializers.IntegerField(read_only=True, allow_null=True)
    share_url = serializers.SerializerMethodField()
    download_url = serializers.SerializerMethodField()

    class Meta:
        model = Archive
        fields = [
            "id",
            "slug",
            "name",
            "description",
            "status",
            "progress",
            "error",
            "size",
            "sha256",
            "files",
            "has_password",
            "expires_at",
            "max_downloads",
            "download_count",
            "downloads_left",
            "view_count",
            "integrity_error",
            "share_url",
            "download_url",
            "created_at",
        ]

    @extend_schema_field(serializers.ChoiceField(choices=Status.choices))
    def get_status(self, archive: Archive) -> str:
        return archive.public_status(now=self._now())

    def get_share_url(self, archive: Archive) -> str:
        return self._share_url(archive.slug)

    def get_download_url(self, archive: Archive) -> str:
        return self._download_url(archive.slug)


class LinkSerializer(AbsoluteUrls, serializers.ModelSerializer):
    """A recipient link as its owner sees it."""

    has_password = serializers.BooleanField(read_only=True)
    downloads_left = serializers.IntegerField(read_only=True, allow_null=True)
    is_revoked = serializers.SerializerMethodField()
    share_url = serializers.SerializerMethodField()
    download_url = serializers.SerializerMethodField()

    class Meta:
        model = Link
        fields = [
            "id",
            "slug",
            "label",
            "has_password",
            "max_downloads",
            "download_count",
            "downloads_left",
            "view_count",
            "expires_at",
            "is_revoked",
            "revoked_at",
            "share_url",
            "download_url",
            "created_at",
        ]

    def get_is_revoked(self, link: Link) -> bool:
        return link.revoked_at is not None

    def get_share_url(self, link: Link) -> str:
        return self._share_url(link.slug)

    def get_download_url(self, link: Link) -> str:
        return self._download_url(link.slug)


class LinkCreateSerializer(StrictSerializer):
    label = serializers.CharField(max_length=100)
    password = serializers.CharField(
        max_length=128, required=False, allow_blank=True, default="", trim_whitespace=False
    )
    max_downloads = _limit_field(allow_null=True)
    ttl = serializers.IntegerField(
        required=False,
        allow_null=True,
        min_value=60,
        max_value=settings.ARCHIVE_MAX_TTL,
        help_text="Lifetime of the link in seconds from now; null: the archive's own.",
    )


class LinkUpdateSerializer(LinkCreateSerializer):
    label = serializers.CharField(max_length=100, required=False)
    password = serializers.CharField(
        max_length=128,
        required=False,
        allow_blank=True,
        trim_whitespace=False,
        help_text="An empty string removes the password.",
    )


class DownloadSerializer(serializers.Serializer):
    at = serializers.DateTimeField()
    ip = serializers.IPAddressField(allow_null=True)
    referer = serializers.CharField()
    user_agent = serializers.CharField()
    source = serializers.CharField()
    recipient = serializers.CharField(source="link.label", allow_null=True, default=None)
    bytes_sent = serializers.IntegerField()
    completed = serializers.BooleanField()
    members = serializers.ListField(
        child=serializers.CharField(),
        help_text="The files of the archive sent on this download's grant, each once; "
        "empty when only the whole ZIP was.",
    )


class AuditEntrySerializer(serializers.ModelSerializer):
    actor = serializers.CharField(source="actor.username", allow_null=True, default=None)

    class Meta:
        model = AuditEntry
        fields = ["at", "actor", "action", "field", "old", "new"]


class DayCountSerializer(serializers.Serializer):
    date = serializers.DateField()
    downloads = serializers.IntegerField(help_text="Downloads started (counted).")
    completed = serializers.IntegerField(help_text="Of those, the ones sent to the end.")


class RefererCountSerializer(serializers.Serializer):
    referer = serializers.CharField()
    downloads = serializers.IntegerField()


class SourceCountSerializer(serializers.Serializer):
    source = serializers.CharField()
    downloads = serializers.IntegerField()


class RecipientCountSerializer(serializers.Serializer):
    link = serializers.CharField(allow_null=True, help_text="null: the archive's own link.")
    label = serializers.CharField()
    views = serializers.IntegerField()
    downloads = serializers.IntegerField()
    completed = serializers.IntegerField()


class StatsSerializer(serializers.Serializer):
    total_views = serializers.IntegerField()
    total_downloads = serializers.IntegerField()
    total_completed = serializers.IntegerField()
    days = DayCountSerializer(many=True)
    top_referrers = RefererCountSerializer(many=True)
    top_sources = SourceCountSerializer(many=True)
    recipients = RecipientCountSerializer(many=True)


class StatsQuerySerializer(serializers.Serializer):
    days = serializers.IntegerField(min_value=1, max_value=365, default=30)
