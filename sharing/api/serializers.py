"""The shape of a share as anyone holding its link sees it."""

from __future__ import annotations

from datetime import datetime  # noqa: TC003 (drf-spectacular reads the hints at run time)
from typing import TYPE_CHECKING

from rest_framework import serializers

from archives.api.serializers import AbsoluteUrls
from archives.models import ArchiveFile  # noqa: TC001 (drf-spectacular reads the hints at run time)
from archives.zipping.sniffing import PREVIEWS
from sharing.downloads import Outcome, Share

if TYPE_CHECKING:
    from collections.abc import Mapping

# Set by the view from ``sharing.disclosure.may_see_hashes``; hashes are hidden without it.
SHOW_HASHES = "show_hashes"
HIDDEN_WHEN_LOCKED = (
    "null on a share with a password, unless the request is its owner's or carries the "
    "right X-Archive-Password (a hash would let anyone confirm a guessed content)"
)


def _shows_hashes(context: Mapping[str, object]) -> bool:
    return context.get(SHOW_HASHES) is True


class ShareFileSerializer(serializers.Serializer):
    """One member of the ZIP as a holder of the link sees it."""

    index = serializers.IntegerField(
        source="position", help_text="Its place in the ZIP, from 0: the <index> of its URLs."
    )
    name = serializers.CharField()
    size = serializers.IntegerField()
    preview = serializers.ChoiceField(
        choices=list(PREVIEWS),
        allow_null=True,
        help_text="What its content (sniffed by the build, not its name) may be previewed "
        "as; null: download only.",
    )
    sha256 = serializers.SerializerMethodField(
        help_text=f"The member's sha256 (empty until built); {HIDDEN_WHEN_LOCKED}."
    )

    def get_sha256(self, member: ArchiveFile) -> str | None:
        return member.sha256 if _shows_hashes(self.context) else None

    def to_representation(self, instance: ArchiveFile) -> dict[str, object]:
        data = super().to_representation(instance)
        data["preview"] = data["preview"] or None
        return data


class ShareSerializer(AbsoluteUrls, serializers.Serializer):
    """What anyone holding a link sees: the archive through that link, nothing about the
    owner. The hashes (``sha256`` of the ZIP and of each member) are null unless the
    context's ``show_hashes`` is True (``sharing.disclosure.may_see_hashes``)."""

    slug = serializers.CharField()
    name = serializers.CharField(source="archive.name")
    description = serializers.CharField(source="archive.description")
    status = serializers.SerializerMethodField()
    progress = serializers.IntegerField(source="archive.progress")
    error = serializers.CharField(source="archive.error")
    size = serializers.IntegerField(source="archive.size", allow_null=True)
    sha256 = serializers.SerializerMethodField(
        help_text=f"The ZIP's sha256 (empty until built); {HIDDEN_WHEN_LOCKED}."
    )
    files = ShareFileSerializer(source="archive.files", many=True)
    has_password = serializers.SerializerMethodField()
    expires_at = serializers.SerializerMethodField()
    downloads_left = serializers.SerializerMethodField()
    share_url = serializers.SerializerMethodField()
    download_url = serializers.SerializerMethodField()
    created_at = serializers.DateTimeField(source="archive.created_at")

    def get_status(self, share: Share) -> str:
        return share.status(now=self._now())

    def get_sha256(self, share: Share) -> str | None:
        return share.archive.sha256 if _shows_hashes(self.context) else None

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


class RefusalSerializer(serializers.Serializer):
    """Why a download was refused (the schema of every refusal's body)."""

    detail = serializers.CharField()
    reason = serializers.ChoiceField(
        choices=[
            *(outcome.value for outcome in Outcome if outcome is not Outcome.ALLOWED),
            "unavailable",
            "prefetch",
        ],
        help_text="limit_reached: the download limit is used up; grant_used_up: this "
        "download's grant has served the archive's size plus DOWNLOAD_GRANT_SLACK already.",
    )
    status = serializers.CharField(required=False, help_text="not_ready: the archive's state.")
    progress = serializers.IntegerField(required=False, help_text="not_ready: 0-100.")
    error = serializers.CharField(required=False, allow_null=True)
    expires_at = serializers.DateTimeField(required=False, help_text="expired: when.")
    retry_after = serializers.IntegerField(required=False, help_text="throttled: seconds.")
