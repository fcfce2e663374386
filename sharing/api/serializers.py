"""The shape of a share as anyone holding its link sees it."""

from __future__ import annotations

from datetime import datetime  # noqa: TC003 (drf-spectacular reads the hints at run time)

from rest_framework import serializers

from archives.api.serializers import AbsoluteUrls, ArchiveFileSerializer
from sharing.downloads import Share  # noqa: TC001 (drf-spectacular reads the hints at run time)


class ShareSerializer(AbsoluteUrls, serializers.Serializer):
    """What anyone holding a link sees: the archive through that link, nothing about the
    owner."""

    slug = serializers.CharField()
    name = serializers.CharField(source="archive.name")
    description = serializers.CharField(source="archive.description")
    status = serializers.SerializerMethodField()
    progress = serializers.IntegerField(source="archive.progress")
    error = serializers.CharField(source="archive.error")
    size = serializers.IntegerField(source="archive.size", allow_null=True)
    sha256 = serializers.CharField(source="archive.sha256")
    files = ArchiveFileSerializer(source="archive.files", many=True)
    has_password = serializers.SerializerMethodField()
    expires_at = serializers.SerializerMethodField()
    downloads_left = serializers.SerializerMethodField()
    share_url = serializers.SerializerMethodField()
    download_url = serializers.SerializerMethodField()
    created_at = serializers.DateTimeField(source="archive.created_at")

    def get_status(self, share: Share) -> str:
        return share.status(now=self._now())

    def get_has_password(self, share: Share) -> bool:
        return bool(share.password_hash)

    def get_expires_at(self, share: Share) -> datetime:
        return share.expires_at()

    def get_downloads_left(self, share: Share) -> int | None:
        return share.downloads_left()

    def get_share_url(self, share: Share) -> str:
        return self._share_url(share.slug)

    def get_download_url(self, share: Share) -> str:
        return self._download_url(share.slug)
