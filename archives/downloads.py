"""The download rules: who may download an archive now, and counting it when they do.

``check_download`` is the one decision the share page and the share API turn into HTML or
JSON. ``record_download`` claims one download with a conditional UPDATE, so N parallel
requests against a limit of k give exactly k downloads.

A counted download returns a *grant*: a signed token naming the archive and the download,
valid ``DOWNLOAD_GRANT_TTL`` seconds. A request that carries it (header
``X-Download-Grant`` or the grant cookie set with the download) and a ``Range`` header
resumes that download without being counted again; it still needs the password and a live archive. A
request without it is a new download and uses one up, ranged or not, so once the limit is
used no byte can be had without a grant.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.conf import settings
from django.contrib.auth.hashers import check_password
from django.core import signing
from django.db import transaction
from django.db.models import F, Q
from django.utils.crypto import constant_time_compare, salted_hmac

from accounts.throttle import record_failure, seconds_blocked
from archives.models import Archive, Download, Status

if TYPE_CHECKING:
    from datetime import datetime

GRANT_SALT = "archives.download-grant"
UNLOCK_SALT = "archives.share-unlock"
MAX_HEADER_LENGTH = 512


class Outcome(enum.Enum):
    ALLOWED = "allowed"
    NOT_READY = "not_ready"
    PASSWORD_REQUIRED = "password_required"
    WRONG_PASSWORD = "wrong_password"
    THROTTLED = "throttled"
    EXPIRED = "expired"
    LIMIT_REACHED = "limit_reached"


@dataclass(frozen=True)
class DownloadDecision:
    outcome: Outcome
    # Seconds until a throttled client may try again.
    retry_after: int | None = None
    # The request carries a valid grant: it resumes a counted download.
    is_resume: bool = False

    @property
    def allowed(self) -> bool:
        return self.outcome is Outcome.ALLOWED


def issue_grant(archive: Archive, *, download_id: int) -> str:
    return signing.dumps({"a": archive.pk, "d": download_id}, salt=GRANT_SALT, compress=True)


def is_valid_grant(archive: Archive, grant: str | None) -> bool:
    if not grant:
        return False
    try:
        data = signing.loads(grant, salt=GRANT_SALT, max_age=settings.DOWNLOAD_GRANT_TTL)
    except signing.BadSignature:
        return False
    return isinstance(data, dict) and data.get("a") == archive.pk


def share_scope(archive: Archive) -> str:
    return f"share:{archive.pk}"


def throttled_for(archive: Archive, *, client: str, now: datetime) -> int | None:
    """Seconds the client must wait after too many wrong passwords, or None."""
    return seconds_blocked(
        share_scope(archive),
        client,
        limit=settings.PASSWORD_ATTEMPTS_LIMIT,
        window=settings.PASSWORD_ATTEMPTS_WINDOW,
        now=now,
    )


def unlock_mark(archive: Archive) -> str:
    """Proof, kept in a visitor's session, that they gave the archive's password: the
    share page asks for it once, and the mark stops working when the owner changes it."""
    return salted_hmac(UNLOCK_SALT, f"{archive.pk}:{archive.password}").hexdigest()


def check_download(
    archive: Archive,
    *,
    password: str | None,
    client: str,
    now: datetime,
    grant: str | None = None,
    unlocked: str | None = None,
) -> DownloadDecision:
    """Decide whether ``client`` may download ``archive`` now.

    The refusals, in order: expired (TTL passed or files purged), not ready (pending,
    building or failed), throttled (too many wrong passwords; also for the right one),
    password required, wrong password (counted towards the throttle), limit reached.
    A valid ``grant`` resumes a counted download, so the limit does not apply to it; a
    valid ``unlocked`` mark (``unlock_mark``) stands for the right password.
    """
    if archive.status == Status.EXPIRED or archive.is_expired(now=now):
        return DownloadDecision(Outcome.EXPIRED)
    if archive.status != Status.READY:
        return DownloadDecision(Outcome.NOT_READY)
    retry_after = throttled_for(archive, client=client, now=now)
    if retry_after is not None:
        return DownloadDecision(Outcome.THROTTLED, retry_after=retry_after)
    if archive.has_password and not (
        unlocked and constant_time_compare(unlocked, unlock_mark(archive))
    ):
        if not password:
            return DownloadDecision(Outcome.PASSWORD_REQUIRED)
        if not check_password(password, archive.password):
            record_failure(
                share_scope(archive), client, window=settings.PASSWORD_ATTEMPTS_WINDOW, now=now
            )
            return DownloadDecision(Outcome.WRONG_PASSWORD)
    if is_valid_grant(archive, grant):
        return DownloadDecision(Outcome.ALLOWED, is_resume=True)
    if archive.is_used_up:
        return DownloadDecision(Outcome.LIMIT_REACHED)
    return DownloadDecision(Outcome.ALLOWED)


def record_download(
    archive: Archive,
    *,
    client: str,
    referer: str,
    user_agent: str,
    now: datetime,
) -> str | None:
    """Count one download and log it; return its grant, or None when the limit (or the
    lifetime) ran out since ``check_download`` said yes.
    """
    live = Q(max_downloads__isnull=True) | Q(download_count__lt=F("max_downloads"))
    with transaction.atomic():
        claimed = Archive.objects.filter(
            live, pk=archive.pk, status=Status.READY, expires_at__gt=now
        ).update(download_count=F("download_count") + 1)
        if claimed != 1:
            return None
        download = Download.objects.create(
            archive=archive,
            at=now,
            ip=client or None,
            referer=referer[:MAX_HEADER_LENGTH],
            user_agent=user_agent[:MAX_HEADER_LENGTH],
        )
    return issue_grant(archive, download_id=download.pk)
