"""Shapes of the archive API: input serializers validate, output ones render the contract."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.conf import settings
from django.core.validators import RegexValidator
from django.urls import reverse
from django.utils import timezone
from rest_framework import serializers

from archives.models import Archive, ArchiveFile
from archives.names import (
    NAME_MESSAGE,
    READABLE_CHARACTER,
    BadArchiveName,
    clean_archive_name,
)
from config.serializers import StrictSerializer

if TYPE_CHECKING:
    from rest_framework.request import Request

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


def validate_archive_name(value: str) -> str:
    try:
        return clean_archive_name(value)
    except BadArchiveName as exc:
        raise serializers.ValidationError(str(exc)) from exc


def _name_field() -> serializers.CharField:
    # The pattern states in the schema what clean_archive_name checks.
    return serializers.CharField(
        max_length=200,
        required=False,
        validators=[RegexValidator(READABLE_CHARACTER, message=NAME_MESSAGE)],
    )


class ArchiveCreateSerializer(StrictSerializer):
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
    name = _name_field()
    description = serializers.CharField(
        max_length=MAX_DESCRIPTION, required=False, allow_blank=True, default=""
    )

    password = serializers.CharField(
        max_length=128, required=False, allow_blank=True, default="", trim_whitespace=False
    )
    ttl = _ttl_field(required=False)
    max_downloads = _limit_field(allow_null=False)

    def validate_name(self, value: str) -> str:
        return validate_archive_name(value)

    def validate(self, attrs: dict) -> dict:
        attrs = super().validate(attrs)
        paths = attrs.get("paths")
        if paths and len(paths) != len(attrs["files"]):
            raise serializers.ValidationError(
                {"paths": [f"Give one path per file: {len(attrs['files'])} files, "
                           f"{len(paths)} paths."]}
            )  # fmt: skip
        return attrs


class ArchiveUpdateSerializer(StrictSerializer):
    name = _name_field()

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

    def validate_name(self, value: str) -> str:
        return validate_archive_name(value)


class ArchiveFileSerializer(serializers.ModelSerializer):
    class Meta:
        model = ArchiveFile
        fields = ["name", "size", "sha256"]


class PublicArchiveSerializer(serializers.ModelSerializer):
    """What anyone holding the link sees: nothing about the owner."""

    status = serializers.SerializerMethodField()
    files = ArchiveFileSerializer(many=True, read_only=True)
    has_password = serializers.BooleanField(read_only=True)
    downloads_left = serializers.IntegerField(read_only=True, allow_null=True)
    share_url = serializers.SerializerMethodField()
    download_url = serializers.SerializerMethodField()

    class Meta:
        model = Archive
        fields = [
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
            "downloads_left",
            "share_url",
            "download_url",
            "created_at",
        ]

    def get_status(self, archive: Archive) -> str:
        return archive.public_status(now=self.context.get("now") or timezone.now())

    def _absolute(self, path: str) -> str:
        request: Request | None = self.context.get("request")
        if request is not None:
            return request.build_absolute_uri(path)
        return f"{settings.SITE_URL}{path}"

    def get_share_url(self, archive: Archive) -> str:
        return self._absolute(reverse("archives:share", args=[archive.slug]))

    def get_download_url(self, archive: Archive) -> str:
        return self._absolute(reverse("archives-api:share-download", args=[archive.slug]))


class ArchiveSerializer(PublicArchiveSerializer):
    """The owner's view of an archive, the contract of DESIGN section 3."""

    class Meta(PublicArchiveSerializer.Meta):
        fields = ["id", *PublicArchiveSerializer.Meta.fields, "download_count"]


class DownloadSerializer(serializers.Serializer):
    at = serializers.DateTimeField()
    ip = serializers.IPAddressField(allow_null=True)
    referer = serializers.CharField()
    user_agent = serializers.CharField()


class DayCountSerializer(serializers.Serializer):
    date = serializers.DateField()
    downloads = serializers.IntegerField()


class RefererCountSerializer(serializers.Serializer):
    referer = serializers.CharField()
    downloads = serializers.IntegerField()


class StatsSerializer(serializers.Serializer):
    total_downloads = serializers.IntegerField()
    days = DayCountSerializer(many=True)
    top_referrers = RefererCountSerializer(many=True)


class StatsQuerySerializer(serializers.Serializer):
    days = serializers.IntegerField(min_value=1, max_value=365, default=30)


class ErrorSerializer(serializers.Serializer):
    detail = serializers.CharField()
