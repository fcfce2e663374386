"""The download rules: who may download an archive now, and counting it when they do.

``check_download`` is the one decision the share page and the share API turn into HTML or
JSON. ``record_download`` claims one download with a conditional UPDATE, so N parallel
requests against a limit of k give exactly k downloads.

A counted download returns a *grant* (DESIGN section 9): an opaque random token that
names nothing; only its sha256 is kept, on the download's row, so it is looked up, never
decoded. It lets its holder receive that download's archive once more, across as many
requests as the client needs (header ``X-Download-Grant`` or the grant cookie set with
the download, a whole-file GET or ranges), for ``DOWNLOAD_GRANT_TTL`` seconds from the
download; it ends with the share's password, the archive and the link. It still needs the
password and a live archive.

A grant has a byte budget, ``grant_budget``: the archive's size plus
``DOWNLOAD_GRANT_SLACK`` percent, in total. Each response reserves its length with one
conditional UPDATE before a byte leaves (``reserve_grant``), so parallel requests cannot
together pass the budget, and ``record_transfer`` gives back what was not sent (a client
that went away burns only what it was sent). Past the budget a request is refused
(``Outcome.GRANT_USED_UP``, 410).

A client that lost its grant (a killed ``wget -c`` run again) may still resume: a
``Range`` past byte 0 from the same address and user agent as an incomplete download
whose grant is open uses that download (``lost_download``). Any other request is a new
download and uses one up, ranged or not, so once the limit is used no byte can be had
without a grant.

The log's ``bytes_sent`` is the union of the ranges sent, and a download is ``completed``
exactly when that union covers the archive (``covered_ranges``).
"""

from __future__ import annotations

import enum
import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

from django.conf import settings
from django.contrib.auth.hashers import check_password
from django.db import transaction
from django.db.models import F, Q
from django.http import Http404
from django.utils import timezone
from django.utils.crypto import constant_time_compare, salted_hmac

from archives.events import notify
from archives.models import Archive, ArchiveFile, Download, Link, Status
from archives.services import queue_member_index
from core.clients import anonymize_ip
from core.throttle import release_attempt, reserve_attempt, seconds_blocked
from notifications.models import Event

if TYPE_CHECKING:
    from collections.abc import Iterable
    from datetime import datetime

    from django.db.models import QuerySet

# Bytes of randomness in a grant; its text is about 4/3 as long.
GRANT_BYTES = 32
# Longer header or cookie values are not looked up.
MAX_GRANT_LENGTH = 128
UNLOCK_SALT = "archives.share-unlock"
GRANT_PASSWORD_SALT = "sharing.grant-password"
MAX_HEADER_LENGTH = 512


class Outcome(enum.Enum):
    ALLOWED = "allowed"
    NOT_READY = "not_ready"
    DAMAGED = "damaged"
    PASSWORD_REQUIRED = "password_required"
    WRONG_PASSWORD = "wrong_password"
    THROTTLED = "throttled"
    EXPIRED = "expired"
    LIMIT_REACHED = "limit_reached"
    GRANT_USED_UP = "grant_used_up"


@dataclass(frozen=True)
class DownloadDecision:
    outcome: Outcome
    # Seconds until a throttled client may try again.
    retry_after: int | None = None
    # The request carries a valid grant: it resumes the counted download ``download_id``.
    is_resume: bool = False
    download_id: int | None = None

    @property
    def allowed(self) -> bool:
        return self.outcome is Outcome.ALLOWED


@dataclass(frozen=True)
class Share:
    """What a share slug opens: an archive, through its own link or a recipient link."""

    archive: Archive
    link: Link | None = None

    @property
    def slug(self) -> str:
        return self.link.slug if self.link else self.archive.slug

    @property
    def password_hash(self) -> str:
        return self.link.password if self.link else self.archive.password

    def expires_at(self) -> datetime:
        return self.link.effective_expiry if self.link else self.archive.expires_at

    def downloads_left(self) -> int | None:
        """The downloads the archive's limit and the link's both still allow; None when
        neither has a limit."""
        lefts = [self.archive.downloads_left]
        if self.link:
            lefts.append(self.link.downloads_left)
        known = [left for left in lefts if left is not None]
        return min(known) if known else None

    @property
    def is_used_up(self) -> bool:
        return self.downloads_left() == 0

    def status(self, *, now: datetime) -> str:
        """The status a holder of this link sees: the archive's public status, or
        ``expired`` once the link's own lifetime or limit is used, or once its owner is
        deactivated (their shares stop with them)."""
        if self.link is not None and (self.link.is_expired(now=now) or self.link.is_used_up):
            return Status.EXPIRED
        if not self.archive.owner.is_active:
            return Status.EXPIRED
        return self.archive.public_status(now=now)


def find_share(slug: str) -> Share:
    """The archive (and recipient link) a share slug opens; ``Http404`` for an unknown
    slug, a deleted archive or a revoked link."""
    # get(), not first(): a slug is unique, and an ordered query costs more to compile on
    # a path every resumed range takes.
    try:
        return Share(Archive.objects.select_related("owner").get(slug=slug))
    except Archive.DoesNotExist:
        pass
    try:
        link = Link.objects.live().select_related("archive__owner").get(slug=slug)
    except Link.DoesNotExist:
        raise Http404("No such share link.") from None
    return Share(link.archive, link)


def find_member(share: Share, index: int) -> ArchiveFile:
    """The file at ``index`` (its position, from 0) in the archive of ``share``;
    ``Http404`` for an index out of range."""
    try:
        return share.archive.files.get(position=index)
    except ArchiveFile.DoesNotExist:
        raise Http404("No such file in this share.") from None


def index_unknown_members(share: Share, files: Iterable[ArchiveFile] | None = None) -> bool:
    """Queue, once, the reading of the members of a stored archive built before the
    build recorded where each lies (``archives.indexing``) when one of ``files`` (all of
    the archive's when None) has no place; their downloads and previews answer as they
    do (503, no preview) until it is done. True when it was queued now."""
    archive = share.archive
    if archive.status != Status.READY or not archive.zip_name or archive.purged_at:
        return False
    if files is None:
        unknown = archive.files.filter(data_offset__isnull=True).exists()
    else:
        unknown = any(file.data_offset is None for file in files)
    return unknown and queue_member_index(archive.pk, now=timezone.now())


def password_mark(share: Share) -> str:
    """Which password the share has now (an HMAC of its hash, never the hash itself): kept
    on each download, so a grant found without its token ends with a new password."""
    return salted_hmac(GRANT_PASSWORD_SALT, share.password_hash).hexdigest()


def new_grant(share: Share) -> tuple[str, str]:
    """A fresh grant for a download of ``share``: returns the token the client gets and
    the hash its download's row keeps (``grant_hash``)."""
    token = secrets.token_urlsafe(GRANT_BYTES)
    return token, grant_hash(share, token)


def grant_hash(share: Share, token: str) -> str:
    """The sha256 (hex) a grant is stored and found by. The share's password hash is part
    of it, so a new password (or a removed one) ends every grant issued before it."""
    return hashlib.sha256(f"{token}\0{share.password_hash}".encode()).hexdigest()


@dataclass(frozen=True)
class Granted:
    """A counted download a request may go on with: its id and whether it is complete."""

    id: int
    is_complete: bool


def _open_grants(share: Share, *, now: datetime) -> QuerySet[Download]:
    """Downloads of this archive through this link (or the archive's own slug) whose grant
    is still open: within ``DOWNLOAD_GRANT_TTL`` of ``now``."""
    return Download.objects.filter(
        archive_id=share.archive.pk,
        link_id=share.link.pk if share.link else None,
        grant_hash__isnull=False,
        at__gt=now - timedelta(seconds=settings.DOWNLOAD_GRANT_TTL),
    )


def granted_download(
    share: Share, grant: str | None, *, now: datetime | None = None
) -> Granted | None:
    """The download a grant goes on with: one of this share's open grants (see
    ``_open_grants``; ``now`` by default the current time) issued under the share's
    current password. None for any other token."""
    if not grant or len(grant) > MAX_GRANT_LENGTH:
        return None
    now = now or timezone.now()
    found = (
        _open_grants(share, now=now)
        .filter(grant_hash=grant_hash(share, grant))
        .values_list("pk", "completed")
        .first()
    )
    return Granted(found[0], found[1]) if found else None


def lost_download(share: Share, *, client: str, user_agent: str, now: datetime) -> int | None:
    """The download a client that lost its grant resumes: the latest incomplete one of
    this share from the same address (as the log keeps it, so anonymised addresses match
    by network) and the same user agent, whose grant is open and was issued under the
    share's current password. None when there is none."""
    return (
        _open_grants(share, now=now)
        .filter(
            ip=anonymize_ip(client, mode=settings.LOG_IP_ANONYMIZE) or None,
            user_agent=user_agent[:MAX_HEADER_LENGTH],
            completed=False,
            password_mark=password_mark(share),
        )
        .order_by("-at", "-pk")
        .values_list("pk", flat=True)
        .first()
    )


def resumed_download(
    share: Share,
    *,
    grant: str | None,
    client: str,
    user_agent: str,
    range_start: int | None,
    now: datetime,
    is_member: bool = False,
) -> int | None:
    """The counted download this request goes on with, or None when it is a new download.

    A valid grant goes on with its download, for a range or the whole file (aria2c opens
    a resume with a plain GET); only a whole-archive request on a complete download is a
    new one, as a second click on a finished download is. A file of the archive
    (``is_member``) always goes on with a valid grant, within its budget. Without a valid
    grant, a range starting past byte 0 goes on with a lost grant (``lost_download``)."""
    granted = granted_download(share, grant, now=now)
    if granted is not None and (is_member or not (granted.is_complete and range_start is None)):
        return granted.id
    if granted is None and range_start:
        return lost_download(share, client=client, user_agent=user_agent, now=now)
    return None


def share_scope(share: Share) -> str:
    if share.link:
        return f"share:{share.archive.pk}:{share.link.pk}"
    return f"share:{share.archive.pk}"


def throttled_for(share: Share, *, client: str, now: datetime) -> int | None:
    """Seconds the client must wait after too many wrong passwords, or None."""
    return seconds_blocked(
        share_scope(share),
        client,
        limit=settings.PASSWORD_ATTEMPTS_LIMIT,
        window=settings.PASSWORD_ATTEMPTS_WINDOW,
        now=now,
    )


def reserve_guess(share: Share, *, client: str, now: datetime) -> int | None:
    """Reserve one password check for the client: None when it may be checked, else the
    seconds it must wait (see ``core.throttle.reserve_attempt``)."""
    return reserve_attempt(
        share_scope(share),
        client,
        limit=settings.PASSWORD_ATTEMPTS_LIMIT,
        window=settings.PASSWORD_ATTEMPTS_WINDOW,
        now=now,
    )


def unlock_mark(share: Share) -> str:
    """Proof, kept in a visitor's session, that they gave the link's password: the share
    page asks for it once, and the mark stops working when the owner changes it."""
    return salted_hmac(UNLOCK_SALT, f"{share.slug}:{share.password_hash}").hexdigest()


def holds_unlock(share: Share, unlocked: str | None) -> bool:
    """Whether ``unlocked`` is the share's current unlock mark: the password was given
    before, on the share page."""
    return unlocked is not None and constant_time_compare(unlocked, unlock_mark(share))


def check_reserved_guess(share: Share, password: str, *, client: str) -> bool:
    """Check a guess already reserved with ``reserve_guess``: the right password gives the
    reservation back; a wrong one keeps it, as the failure counted."""
    if not check_password(password, share.password_hash):
        return False
    release_attempt(share_scope(share), client)
    return True


def check_download(
    share: Share,
    *,
    password: str | None,
    client: str,
    now: datetime,
    grant: str | None = None,
    unlocked: str | None = None,
    user_agent: str = "",
    range_start: int | None = None,
    is_member: bool = False,
) -> DownloadDecision:
    """Decide whether ``client`` may download the archive of ``share`` now.

    The refusals, in order: expired (the archive's or the link's lifetime passed, or the
    files were purged), not ready (pending, building or failed), damaged (the stored ZIP
    no longer matches its sha256), throttled (too many wrong passwords; also for the
    right one), limit reached (the archive's or the link's), password required, wrong
    password (counted towards the throttle). A request that goes on with a counted
    download (``resumed_download``: a valid ``grant``, or a lost one found by ``client``
    and ``user_agent`` for a range from ``range_start`` past 0; None when the request has
    no range) is not counted again, so no limit applies to it; its bytes are the grant's
    (``reserve_grant``). ``is_member``: the request is for one file of the archive, which
    any valid grant covers. A valid ``unlocked`` mark (``unlock_mark``) stands for the
    right password.
    """
    archive, link = share.archive, share.link
    if (
        archive.status == Status.EXPIRED
        or archive.is_expired(now=now)
        # A deactivated owner's shares stop with them.
        or not archive.owner.is_active
        or (link is not None and link.is_expired(now=now))
    ):
        return DownloadDecision(Outcome.EXPIRED)
    if archive.status != Status.READY:
        return DownloadDecision(Outcome.NOT_READY)
    if archive.integrity_error:
        return DownloadDecision(Outcome.DAMAGED)
    # Only password guesses are throttled: a share without a password has none to guess,
    # and its downloads skip the lookup.
    needs_password = bool(share.password_hash) and not holds_unlock(share, unlocked)
    is_guess = needs_password and bool(password)
    # A guess is reserved before it is checked, so parallel guesses cannot all pass a
    # block that only the failures written afterwards would raise.
    if is_guess:
        retry_after = reserve_guess(share, client=client, now=now)
    elif share.password_hash:
        retry_after = throttled_for(share, client=client, now=now)
    else:
        retry_after = None
    if retry_after is not None:
        return DownloadDecision(Outcome.THROTTLED, retry_after=retry_after)
    resumed = resumed_download(
        share,
        grant=grant,
        client=client,
        user_agent=user_agent,
        range_start=range_start,
        now=now,
        is_member=is_member,
    )
    if share.is_used_up and resumed is None:
        if is_guess:
            release_attempt(share_scope(share), client)
        # Said before asking for the password: no password would change it.
        return DownloadDecision(Outcome.LIMIT_REACHED)
    if needs_password:
        if not password:
            return DownloadDecision(Outcome.PASSWORD_REQUIRED)
        if not check_reserved_guess(share, password, client=client):
            return DownloadDecision(Outcome.WRONG_PASSWORD)
    if resumed is not None:
        return DownloadDecision(Outcome.ALLOWED, is_resume=True, download_id=resumed)
    return DownloadDecision(Outcome.ALLOWED)


@dataclass(frozen=True)
class CountedDownload:
    id: int
    grant: str


class _LimitReached(Exception):
    """Rolls back the archive's count when the link's limit is reached."""


class _Revoked(Exception):
    """Rolls back the archive's count when the link was revoked meanwhile."""


def _has_room(count: str, limit: str) -> Q:
    return Q(**{f"{limit}__isnull": True}) | Q(**{f"{count}__lt": F(limit)})


def record_download(
    share: Share,
    *,
    client: str,
    referer: str,
    user_agent: str,
    now: datetime,
    source: str = "",
    reserve: int = 0,
    member: str | None = None,
) -> CountedDownload | None:
    """Count one download against the archive and the link, and log it; return it with
    its grant, or None when a limit (or a lifetime) ran out since ``check_download``
    said yes; ``Http404`` when the link was revoked meanwhile. Both counts are
    conditional UPDATEs in one transaction. ``reserve`` bytes of the new grant's budget
    are taken for the response that counts it (``reserve_grant``). ``member``: the name
    of the archive's file the download is for, logged on it (``Download.members``).
    """
    archive, link = share.archive, share.link
    try:
        with transaction.atomic():
            claimed = Archive.objects.filter(
                _has_room("download_count", "max_downloads"),
                pk=archive.pk,
                status=Status.READY,
                expires_at__gt=now,
            ).update(download_count=F("download_count") + 1)
            if claimed != 1:
                return None
            # Read under the row lock this transaction holds: exactly one download sees
            # the count reach the limit.
            reached = Archive.objects.filter(
                pk=archive.pk, max_downloads__isnull=False, download_count=F("max_downloads")
            ).exists()
            if link is not None:
                link_claimed = (
                    Link.objects.live()
                    .filter(_has_room("download_count", "max_downloads"), pk=link.pk)
                    .filter(Q(expires_at__isnull=True) | Q(expires_at__gt=now))
                    .update(download_count=F("download_count") + 1)
                )
                if link_claimed != 1:
                    if Link.objects.filter(pk=link.pk, revoked_at__isnull=False).exists():
                        raise _Revoked
                    raise _LimitReached
                reached = (
                    reached
                    or Link.objects.filter(
                        pk=link.pk, max_downloads__isnull=False, download_count=F("max_downloads")
                    ).exists()
                )
            grant, hashed = new_grant(share)
            download = Download.objects.create(
                archive=archive,
                link=link,
                at=now,
                ip=anonymize_ip(client, mode=settings.LOG_IP_ANONYMIZE) or None,
                referer=referer[:MAX_HEADER_LENGTH],
                user_agent=user_agent[:MAX_HEADER_LENGTH],
                source=source,
                grant_hash=hashed,
                grant_used=reserve,
                password_mark=password_mark(share),
                members=[member] if member is not None else [],
            )
            happened = {
                "download": {
                    "at": now,
                    "ip": download.ip,
                    "recipient": link.label if link else None,
                    "source": source,
                }
            }
            counted = Archive.objects.get(pk=archive.pk)
            notify(Event.DOWNLOADED, counted, now=now, extra=happened)
            if reached:
                notify(Event.LIMIT_REACHED, counted, now=now, extra=happened)
    except _LimitReached:
        return None
    except _Revoked:
        raise Http404("No such share link.") from None
    return CountedDownload(download.pk, grant)


def grant_budget(size: int) -> int:
    """The bytes one grant may serve in total: the archive's ``size`` plus
    ``DOWNLOAD_GRANT_SLACK`` percent of it (rounded up)."""
    return size + -(-size * settings.DOWNLOAD_GRANT_SLACK // 100)


def reserve_grant(download_id: int, *, length: int, size: int) -> bool:
    """Take ``length`` bytes of the download's grant budget (``grant_budget(size)``)
    before a response of that length is sent: one conditional UPDATE, so parallel
    requests never together pass the budget. False, with nothing taken, when the budget
    has less left; ``record_transfer`` gives back what the response did not send."""
    return (
        Download.objects.filter(pk=download_id, grant_used__lte=grant_budget(size) - length).update(
            grant_used=F("grant_used") + length
        )
        == 1
    )


def covered_ranges(ranges: list[list[int]], *, start: int, end: int) -> list[list[int]]:
    """``ranges`` (sorted, merged, half-open ``[start, end)`` pairs) with ``[start,
    end)`` added, merged again: touching or overlapping pairs become one."""
    merged: list[list[int]] = []
    for first, last in sorted([*ranges, [start, end]]):
        if merged and first <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], last)
        else:
            merged.append([first, last])
    return merged


def record_transfer(download_id: int, *, start: int, sent: int, reserved: int, size: int) -> None:
    """Record that a response of the download sent ``sent`` bytes from ``start``, after
    reserving ``reserved`` of its grant: the range joins the download's covered ranges,
    ``bytes_sent`` becomes their union and ``completed`` whether it covers all ``size``
    bytes; the ``reserved - sent`` bytes not sent go back to the grant.

    The row is read and written under its lock (``select_for_update``; SQLite's
    immediate transactions take the database's), so parallel ranges each add theirs."""
    with transaction.atomic():
        download = Download.objects.select_for_update().only("ranges").filter(pk=download_id)
        found = download.first()
        if found is None:
            # The archive was deleted while the response was being sent.
            return
        ranges = found.ranges
        if sent > 0:
            ranges = covered_ranges(ranges, start=start, end=start + sent)
        covered = sum(last - first for first, last in ranges)
        Download.objects.filter(pk=download_id).update(
            ranges=ranges,
            bytes_sent=covered,
            completed=size > 0 and covered >= size,
            grant_used=F("grant_used") - (reserved - sent),
        )


def record_member_transfer(download_id: int, *, member: str, reserved: int, used: int) -> None:
    """Record that a response of the download sent the file ``member`` of the archive,
    using ``used`` of the ``reserved`` bytes of its grant: the name joins the download's
    ``members`` (once), and ``reserved - used`` go back to the grant. A member's bytes
    are not the archive's, so ``ranges``, ``bytes_sent`` and ``completed`` stay as they
    are. Under the row's lock, as ``record_transfer``."""
    with transaction.atomic():
        found = Download.objects.select_for_update().only("members").filter(pk=download_id)
        row = found.first()
        if row is None:
            return
        members = row.members if member in row.members else [*row.members, member]
        Download.objects.filter(pk=download_id).update(
            members=members, grant_used=F("grant_used") - (reserved - used)
        )


def record_view(share: Share) -> None:
    """Count a visit of the share page (never a download)."""
    target = Link.objects.filter(pk=share.link.pk) if share.link else None
    if target is None:
        Archive.objects.filter(pk=share.archive.pk).update(view_count=F("view_count") + 1)
    else:
        target.update(view_count=F("view_count") + 1)


_SOURCE = re.compile(r"[^a-z0-9._-]+")


def clean_source(raw: str | None) -> str:
    """A ``?src=`` tag as stored: lower case letters, digits, ``.``, ``_`` and ``-``, at
    most 64 characters; anything else is dropped."""
    return _SOURCE.sub("", (raw or "").lower())[:64]
