"""The size and count limits of an upload, checked in one place before anything is stored."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, NamedTuple

from django.conf import settings
from django.db.models import Count, Q, Sum
from django.db.models.functions import Coalesce

from accounts.quotas import Quota, hold_quota, quota_of
from archives.models import Archive
from core.limits import LimitExceeded, format_bytes

if TYPE_CHECKING:
    from django.db.models import QuerySet

    from accounts.models import User

# The archives that count against a quota: those whose files are still stored.
STORED = Q(purged_at__isnull=True)


class Usage(NamedTuple):
    stored: int
    archives: int
    quota: Quota

    @property
    def percent(self) -> int:
        """The share of the quota used, 0 to 100 (rounded down; over 100 shows 100)."""
        return min(100, self.stored * 100 // self.quota.limit)


@dataclass(frozen=True)
class Caps:
    """Limits of one upload stricter than the settings' (an upload request's): at most
    ``files`` files and ``total`` bytes in all; None leaves the setting alone. ``source``
    names them in the messages."""

    files: int | None = None
    total: int | None = None
    source: str = "this upload request"


def used_quota(user: User) -> int:
    """Bytes the user's archives hold in storage now (sources or built ZIP)."""
    return usage_of(user).stored


def usage_of(user: User) -> Usage:
    """What ``user`` stores now (bytes and archives) against their quota."""
    totals = Archive.objects.filter(STORED, owner=user).aggregate(
        stored=Coalesce(Sum("source_size"), 0), archives=Count("pk")
    )
    return Usage(int(totals["stored"]), int(totals["archives"]), quota_of(user))


def with_usage(users: QuerySet[User]) -> QuerySet[User]:
    """``users`` annotated with ``stored_bytes`` and ``archive_count``, counted as
    ``usage_of`` counts (for lists of users: the admin's, through ``ACCOUNT_USAGE``)."""
    stored = Q(archives__purged_at__isnull=True)
    return users.annotate(
        stored_bytes=Coalesce(Sum("archives__source_size", filter=stored), 0),
        archive_count=Count("archives", filter=stored),
    )


def check_upload_limits(
    user: User, *, sizes: list[int], reserved: int = 0, caps: Caps | None = None
) -> None:
    """Raise ``LimitExceeded`` when files of ``sizes`` may not be stored for ``user``.

    Checks the number of files (400), the size of each file, of the archive and of the
    user's quota (413), in that order; ``caps`` adds stricter limits of the count (400) and
    of the total (413). ``reserved`` is what uploads still open hold against
    the quota (resumable uploads announce their length before their bytes arrive).

    Call it inside the transaction that stores the upload: the quota is read under
    ``accounts.quotas.hold_quota``, so parallel uploads of one user are checked one after
    another, each seeing what the others stored; a caller passing ``reserved`` holds the
    quota before reading it.
    """
    if not sizes:
        raise LimitExceeded("Add at least one file.", status_code=400)
    _check_sizes(sizes, caps)
    hold_quota(user)
    _check_quota(sum(sizes), used=used_quota(user), reserved=reserved, quota=quota_of(user))


def _amount(size: int, *, partial: bool) -> str:
    """A size in a refusal: of a body refused while it arrived, what had arrived."""
    if partial:
        return f"at least {format_bytes(size)} (the upload was stopped there)"
    return format_bytes(size)


def _check_sizes(sizes: list[int], caps: Caps | None = None, *, partial: bool = False) -> None:
    if caps is not None:
        _check_caps(sizes, caps, partial=partial)
    if len(sizes) > settings.ARCHIVE_MAX_FILES:
        raise LimitExceeded(
            f"Too many files: {len(sizes)}; an archive holds at most "
            f"{settings.ARCHIVE_MAX_FILES} files (ARCHIVE_MAX_FILES).",
            status_code=400,
        )
    largest = max(sizes, default=0)
    if largest > settings.ARCHIVE_FILE_MAX_BYTES:
        raise LimitExceeded(
            f"A file of {_amount(largest, partial=partial)} is over the limit of "
            f"{format_bytes(settings.ARCHIVE_FILE_MAX_BYTES)} per file (ARCHIVE_FILE_MAX_BYTES)."
        )
    total = sum(sizes)
    if total > settings.ARCHIVE_MAX_BYTES:
        raise LimitExceeded(
            f"The files add up to {_amount(total, partial=partial)}, over the limit of "
            f"{format_bytes(settings.ARCHIVE_MAX_BYTES)} per archive (ARCHIVE_MAX_BYTES)."
        )


def _check_caps(sizes: list[int], caps: Caps, *, partial: bool) -> None:
    if caps.files is not None and len(sizes) > caps.files:
        raise LimitExceeded(
            f"Too many files: {len(sizes)}; {caps.source} takes at most {caps.files} "
            "files at once.",
            status_code=400,
        )
    total = sum(sizes)
    if caps.total is not None and total > caps.total:
        raise LimitExceeded(
            f"The files add up to {_amount(total, partial=partial)}, over the limit of "
            f"{format_bytes(caps.total)} that {caps.source} takes at once."
        )


def _check_quota(
    total: int, *, used: int, reserved: int, quota: Quota, partial: bool = False
) -> None:
    used += reserved
    if used + total <= quota.limit:
        return
    held = f", with the uploads still open ({format_bytes(reserved)})," if reserved else ""
    advice = (
        "Finish or cancel open uploads, or delete archives you no longer share."
        if reserved
        else "Delete archives you no longer share to make room."
    )
    raise LimitExceeded(
        f"This upload of {_amount(total, partial=partial)} would take your storage{held} "
        f"to {'at least ' if partial else ''}{format_bytes(used + total)}, over your quota of "
        f"{format_bytes(quota.limit)} ({quota.source}). {advice}"
    )


# What a multipart body may carry besides the files' bytes: the text fields
# (DATA_UPLOAD_MAX_MEMORY_SIZE in all) and, for each file part, its boundary and headers.
PART_FRAMING_BYTES = 2048


class UploadWatch:
    """The limits of ``check_upload_limits`` applied while a body streams in, so an upload
    over one is refused before its bytes are stored, not after: from the body's
    ``Content-Length`` before reading, then after every block received. The quota is read
    once, when the upload begins; the check under the owner's lock follows when it is
    stored."""

    def __init__(self, user: User, *, caps: Caps | None = None) -> None:
        self._used = used_quota(user)
        self._caps = caps
        self._quota = quota_of(user)

    def check_length(self, content_length: int) -> None:
        """Raise ``LimitExceeded`` (413) when a body of ``content_length`` bytes cannot be
        an upload within the limits, whatever its parts."""
        framing = settings.DATA_UPLOAD_MAX_MEMORY_SIZE + (
            settings.ARCHIVE_MAX_FILES * PART_FRAMING_BYTES
        )
        room = min(settings.ARCHIVE_MAX_BYTES, self._quota.limit - self._used)
        if self._caps is not None and self._caps.total is not None:
            room = min(room, self._caps.total)
        if content_length > room + framing:
            raise LimitExceeded(
                f"The request body of {format_bytes(content_length)} is larger than any "
                f"upload you may send now: at most {format_bytes(max(room, 0))} of files "
                f"(ARCHIVE_MAX_BYTES, and what is left of your quota: {self._quota.source})."
            )

    def check_received(self, sizes: list[int]) -> None:
        """Raise ``LimitExceeded`` the moment the files received so far, of ``sizes``
        bytes each, pass a limit."""
        _check_sizes(sizes, self._caps, partial=True)
        _check_quota(sum(sizes), used=self._used, reserved=0, quota=self._quota, partial=True)
