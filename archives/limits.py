"""The size and count limits of an upload, checked in one place before anything is stored."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.conf import settings
from django.db.models import Sum

from accounts.quotas import hold_quota
from archives.models import Archive
from core.limits import LimitExceeded, format_bytes

if TYPE_CHECKING:
    from accounts.models import User


def used_quota(user: User) -> int:
    """Bytes the user's archives hold in storage now (sources or built ZIP)."""
    live = Archive.objects.filter(owner=user, purged_at__isnull=True)
    total = live.aggregate(total=Sum("source_size"))["total"]
    return int(total or 0)


def check_upload_limits(user: User, *, sizes: list[int], reserved: int = 0) -> None:
    """Raise ``LimitExceeded`` when files of ``sizes`` may not be stored for ``user``.

    Checks the number of files (400), the size of each file, of the archive and of the
    user's quota (413), in that order. ``reserved`` is what uploads still open hold against
    the quota (resumable uploads announce their length before their bytes arrive).

    Call it inside the transaction that stores the upload: the quota is read under
    ``accounts.quotas.hold_quota``, so parallel uploads of one user are checked one after
    another, each seeing what the others stored; a caller passing ``reserved`` holds the
    quota before reading it.
    """
    if not sizes:
        raise LimitExceeded("Add at least one file.", status_code=400)
    if len(sizes) > settings.ARCHIVE_MAX_FILES:
        raise LimitExceeded(
            f"Too many files: {len(sizes)}; an archive holds at most "
            f"{settings.ARCHIVE_MAX_FILES} files (ARCHIVE_MAX_FILES).",
            status_code=400,
        )
    largest = max(sizes)
    if largest > settings.ARCHIVE_FILE_MAX_BYTES:
        raise LimitExceeded(
            f"A file of {format_bytes(largest)} is over the limit of "
            f"{format_bytes(settings.ARCHIVE_FILE_MAX_BYTES)} per file (ARCHIVE_FILE_MAX_BYTES)."
        )
    total = sum(sizes)
    if total > settings.ARCHIVE_MAX_BYTES:
        raise LimitExceeded(
            f"The files add up to {format_bytes(total)}, over the limit of "
            f"{format_bytes(settings.ARCHIVE_MAX_BYTES)} per archive (ARCHIVE_MAX_BYTES)."
        )
    hold_quota(user)
    used = used_quota(user) + reserved
    if used + total <= settings.USER_QUOTA_BYTES:
        return
    held = f", with the uploads still open ({format_bytes(reserved)})," if reserved else ""
    advice = (
        "Finish or cancel open uploads, or delete archives you no longer share."
        if reserved
        else "Delete archives you no longer share to make room."
    )
    raise LimitExceeded(
        f"This upload of {format_bytes(total)} would take your storage{held} to "
        f"{format_bytes(used + total)}, over your quota of "
        f"{format_bytes(settings.USER_QUOTA_BYTES)} (USER_QUOTA_BYTES). {advice}"
    )
