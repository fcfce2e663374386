"""One HTTP download of a share link: ``deliver_archive`` is the one entry point the share
page and the share API call. It applies the download rules, counts a new download or
goes on with a granted one within its grant's byte budget, and sends the ZIP or says why
not.

A resumed range takes the whole request cycle like any other request, so there is one
path. Answering it before the session, locale, CSRF and API framework layers saved about
half a millisecond per range; the ORM share lookup and transfer count cost more. Together
they took bench ``download_range`` (200 resumed 1 MiB ranges) from 0.42 s to 0.65 s."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING

from django.conf import settings
from django.utils import timezone

from archives.integrity import MISSING, UNREADABLE, record_damage
from archives.storage import StorageError
from core import metrics
from core.clients import client_ip
from sharing.downloads import (
    CountedDownload,
    DownloadDecision,
    Outcome,
    Share,
    check_download,
    clean_source,
    grant_budget,
    index_unknown_members,
    record_download,
    record_member_transfer,
    record_transfer,
    reserve_grant,
)
from sharing.members import (
    MemberUnavailable,
    charge,
    member_etag,
    member_unsatisfiable,
    open_member,
    send_member,
)
from sharing.sending import (
    ByteRange,
    StoredZip,
    Unsatisfiable,
    open_archive,
    range_of,
    requested_range,
    send_archive,
    send_headers_only,
    send_unsatisfiable,
)

if TYPE_CHECKING:
    from datetime import datetime

    from django.http import HttpRequest, HttpResponseBase

    from archives.models import Archive, ArchiveFile


logger = logging.getLogger(__name__)

GRANT_HEADER = "X-Download-Grant"
GRANT_COOKIE = "download_grant"
PREFETCH_PURPOSES = {"prefetch", "preview"}
# The refusal reason counted when the stored ZIP cannot be had.
UNAVAILABLE = "unavailable"

# The HTTP status of each refusal (DESIGN section 4).
REFUSAL_STATUS = {
    Outcome.NOT_READY: 409,
    Outcome.DAMAGED: 409,
    Outcome.PASSWORD_REQUIRED: 401,
    Outcome.WRONG_PASSWORD: 403,
    Outcome.THROTTLED: 429,
    Outcome.EXPIRED: 410,
    Outcome.LIMIT_REACHED: 410,
    Outcome.GRANT_USED_UP: 410,
}


@dataclass(frozen=True)
class Refusal:
    """The request may not have the archive; ``decision`` says why."""

    decision: DownloadDecision

    @property
    def status(self) -> int:
        return REFUSAL_STATUS[self.decision.outcome]


@dataclass(frozen=True)
class Unavailable:
    """The rules allow the download but the stored ZIP cannot be had (503); nothing was
    counted. ``is_damaged``: the file is gone or unreadable and the archive is now marked
    damaged; otherwise storage did not answer."""

    detail: str
    is_damaged: bool
    status: int = 503


@dataclass(frozen=True)
class Prefetch:
    """A prefetch or link preview: answered without serving or counting anything."""


def refusal_headers(decision: DownloadDecision) -> dict[str, str]:
    """The headers a refusal carries, on the page and in the API alike: ``Retry-After``
    (seconds) when the client is throttled."""
    if decision.outcome is Outcome.THROTTLED and decision.retry_after is not None:
        return {"Retry-After": str(decision.retry_after)}
    return {}


def is_prefetch(request: HttpRequest) -> bool:
    purpose = request.headers.get("Sec-Purpose") or request.headers.get("Purpose") or ""
    words = {word.strip().lower() for word in purpose.replace(";", ",").split(",")}
    return bool(words & PREFETCH_PURPOSES) or request.headers.get("X-Moz") == "prefetch"


def deliver_archive(
    request: HttpRequest,
    share: Share,
    *,
    password: str | None,
    unlocked: str | None = None,
    referer: str | None = None,
    member: ArchiveFile | None = None,
) -> HttpResponseBase | Refusal | Prefetch | Unavailable:
    """Serve the archive of ``share`` to ``request`` if the rules allow, counting a new
    download; with ``member``, that one file of the ZIP instead (DESIGN section 10), under
    the same rules and on the same grants: the first file or archive download of a visit
    counts, later ones within its grant go on with it. A member's bytes cost the grant
    what they weigh in the ZIP (``sharing.members.charge``); each member sent is logged
    on the download (``Download.members``).

    HEAD and prefetches are never counted. A request that goes on with a counted download
    (its grant, or a lost one: ``check_download``) is not counted again and takes its
    bytes from that grant's budget (``_send_on_grant``); any other request is a new
    download. A counted download's response carries its grant in the
    ``X-Download-Grant`` header and in a cookie scoped to the download path.
    ``referer`` replaces the request's own (the share page passes the page that led to
    it); ``?src=`` is stored as the download's source. The range each response sends is
    added to its download once the server is done. The stored ZIP is opened before
    anything is counted: when it cannot be, the answer is ``Unavailable`` and nothing is
    counted or notified.
    """
    if is_prefetch(request):
        return Prefetch()
    now = timezone.now()
    client = client_ip(request.META)
    archive = share.archive
    try:
        if member is None:
            byte_range = requested_range(request, archive)
        else:
            byte_range = range_of(request, size=member.size, etag=member_etag(member))
        unsatisfiable = False
    except Unsatisfiable:
        byte_range, unsatisfiable = None, True
    decision = check_download(
        share,
        password=password,
        client=client,
        now=now,
        grant=request.headers.get(GRANT_HEADER) or request.COOKIES.get(GRANT_COOKIE),
        unlocked=unlocked,
        user_agent=request.headers.get("User-Agent", ""),
        range_start=byte_range.start if byte_range else None,
        is_member=member is not None,
    )
    if not decision.allowed:
        metrics.count_refusal(decision.outcome.value)
        return Refusal(decision)
    if member is not None:
        if unsatisfiable:
            return member_unsatisfiable(member)
        return _deliver_member(
            request,
            share,
            member,
            byte_range,
            decision=decision,
            client=client,
            referer=referer,
            now=now,
        )
    if unsatisfiable:
        return send_unsatisfiable(archive)
    try:
        stored = open_archive(archive, head=request.method == "HEAD")
    except OSError as exc:
        return _unavailable(archive, exc, now=now)
    try:
        result = _count_and_send(
            request,
            share,
            stored,
            byte_range,
            decision=decision,
            client=client,
            referer=referer,
            now=now,
        )
    except BaseException:
        stored.close()
        raise
    if isinstance(result, Refusal):
        stored.close()
    return result


def _unavailable(archive: Archive, exc: OSError, *, now: datetime) -> Unavailable:
    """The answer when the stored ZIP cannot be had. A file that is gone or unreadable
    marks the archive damaged, as the scrub would; a bucket that does not answer says
    nothing about the file, so nothing is marked and a later try may succeed."""
    metrics.count_refusal(UNAVAILABLE)
    if isinstance(exc, StorageError):
        logger.error("archive %s could not be read: %s", archive.pk, exc)
        return Unavailable(
            "Storage does not answer, so the archive cannot be sent now; try again later.",
            is_damaged=False,
        )
    error = MISSING if isinstance(exc, FileNotFoundError) else f"{UNREADABLE}: {exc.strerror}."
    record_damage(archive, error=error, now=now)
    return Unavailable(f"The stored archive is damaged and is not served: {error}", is_damaged=True)


def _count_and_send(
    request: HttpRequest,
    share: Share,
    stored: StoredZip,
    byte_range: ByteRange | None,
    *,
    decision: DownloadDecision,
    client: str,
    referer: str | None,
    now: datetime,
) -> HttpResponseBase | Refusal:
    archive = share.archive
    if request.method == "HEAD":
        return _send(request, archive, stored, byte_range, download_id=None, reserved=0)
    length = byte_range.length if byte_range else archive.size or 0
    if decision.is_resume and decision.download_id is not None:
        return _send_on_grant(
            request, archive, stored, byte_range, download_id=decision.download_id, length=length
        )
    counted = _record(request, share, client=client, referer=referer, now=now, reserve=length)
    if counted is None:
        metrics.count_refusal(Outcome.LIMIT_REACHED.value)
        return Refusal(DownloadDecision(Outcome.LIMIT_REACHED))
    metrics.count_download()
    response = _send(request, archive, stored, byte_range, download_id=counted.id, reserved=length)
    _give_grant(request, share, response, counted.grant)
    return response


def _record(
    request: HttpRequest,
    share: Share,
    *,
    client: str,
    referer: str | None,
    now: datetime,
    reserve: int,
    member: str | None = None,
) -> CountedDownload | None:
    """Count a new download of the request (``record_download``) with what the log keeps
    of it: referer (``referer`` or the request's own), user agent, ``?src=``."""
    return record_download(
        share,
        client=client,
        referer=request.headers.get("Referer", "") if referer is None else referer,
        user_agent=request.headers.get("User-Agent", ""),
        source=clean_source(request.GET.get("src")),
        now=now,
        reserve=reserve,
        member=member,
    )


def _give_grant(request: HttpRequest, share: Share, response: HttpResponseBase, grant: str) -> None:
    """Hand a new grant to the client: in the ``X-Download-Grant`` header, and in a cookie
    scoped to the share's paths (``/s/<slug>/`` or ``/api/shares/<slug>/``), so the
    archive and each of its files, downloaded from the same place, share it."""
    response[GRANT_HEADER] = grant
    marker = f"/{share.slug}/"
    path = request.path
    scope = path[: path.index(marker) + len(marker)] if marker in path else path
    response.set_cookie(
        GRANT_COOKIE,
        grant,
        max_age=settings.DOWNLOAD_GRANT_TTL,
        path=scope,
        secure=request.is_secure(),
        httponly=True,
        samesite="Lax",
    )


def _deliver_member(
    request: HttpRequest,
    share: Share,
    member: ArchiveFile,
    byte_range: ByteRange | None,
    *,
    decision: DownloadDecision,
    client: str,
    referer: str | None,
    now: datetime,
) -> HttpResponseBase | Refusal | Unavailable:
    """Count (or go on with a grant) and send one member, as ``_count_and_send`` does
    for the archive; a member the budget cannot cover is refused (410)."""
    archive = share.archive
    head = request.method == "HEAD"
    try:
        handle = None if head else open_member(archive, member, byte_range)
    except MemberUnavailable:
        index_unknown_members(share, [member])
        metrics.count_refusal(UNAVAILABLE)
        return Unavailable(
            "This file's place in the archive is not known; download the whole archive.",
            is_damaged=False,
        )
    except OSError as exc:
        return _unavailable(archive, exc, now=now)
    connection = request.META.get("gunicorn.socket")
    if handle is None:
        return send_member(member, None, byte_range=byte_range)
    length = byte_range.length if byte_range else member.size
    reserved = charge(member, length)
    grant = None
    if decision.is_resume and decision.download_id is not None:
        download_id = decision.download_id
        if not reserve_grant(download_id, length=reserved, size=archive.size or 0):
            handle.close()
            logger.warning(
                "download %s refused %s bytes of member %r: its grant has less than the %s "
                "bytes they cost left of its budget of %s",
                download_id,
                length,
                member.name,
                reserved,
                grant_budget(archive.size or 0),
            )
            metrics.count_refusal(Outcome.GRANT_USED_UP.value)
            return Refusal(DownloadDecision(Outcome.GRANT_USED_UP))
    else:
        counted = _record(
            request,
            share,
            client=client,
            referer=referer,
            now=now,
            reserve=reserved,
            member=member.name,
        )
        if counted is None:
            handle.close()
            metrics.count_refusal(Outcome.LIMIT_REACHED.value)
            return Refusal(DownloadDecision(Outcome.LIMIT_REACHED))
        metrics.count_download()
        download_id, grant = counted.id, counted.grant
    metrics.count_bytes_served(length)
    on_close = partial(
        _member_transferred,
        download_id=download_id,
        member=member,
        reserved=reserved,
    )
    response = send_member(
        member, handle, byte_range=byte_range, on_close=on_close, connection=connection
    )
    if grant is not None:
        _give_grant(request, share, response, grant)
    return response


def _member_transferred(sent: int, *, download_id: int, member: ArchiveFile, reserved: int) -> None:
    record_member_transfer(
        download_id, member=member.name, reserved=reserved, used=min(charge(member, sent), reserved)
    )


def _send_on_grant(
    request: HttpRequest,
    archive: Archive,
    stored: StoredZip,
    byte_range: ByteRange | None,
    *,
    download_id: int,
    length: int,
) -> HttpResponseBase | Refusal:
    """Send on a counted download's grant what its budget still covers.

    A range the budget cannot cover whole is refused (410, ``grant_used_up``). A request
    for the whole file that it cannot cover gets the archive's headers and no body, and
    the connection ends there: aria2c opens every resume with a plain GET and closes it
    once it has the headers, then asks for the ranges it lacks, which the budget covers;
    anyone else sees a transfer broken at byte 0 that costs the grant nothing."""
    size = archive.size or 0
    if reserve_grant(download_id, length=length, size=size):
        return _send(request, archive, stored, byte_range, download_id=download_id, reserved=length)
    budget = grant_budget(size)
    if byte_range is None:
        logger.info(
            "download %s: its grant has less than the whole archive (%s bytes) left of "
            "%s; a request for the whole file gets the headers only",
            download_id,
            size,
            budget,
        )
        stored.close()
        return send_headers_only(archive, connection=request.META.get("gunicorn.socket"))
    logger.warning(
        "download %s refused bytes %s-%s: its grant has less than %s bytes left of its "
        "budget of %s (the archive's %s bytes plus %s%%)",
        download_id,
        byte_range.start,
        byte_range.end,
        length,
        budget,
        size,
        settings.DOWNLOAD_GRANT_SLACK,
    )
    metrics.count_refusal(Outcome.GRANT_USED_UP.value)
    return Refusal(DownloadDecision(Outcome.GRANT_USED_UP))


def _send(
    request: HttpRequest,
    archive: Archive,
    stored: StoredZip,
    byte_range: ByteRange | None,
    *,
    download_id: int | None,
    reserved: int,
) -> HttpResponseBase:
    """The archive, or its range; the range sent is added to the download, if any, and
    what of ``reserved`` it did not send goes back to its grant. Where the app does not
    send the bytes itself (nginx, a bucket's URL) it cannot know how many leave: the range
    it allowed counts as sent, and nothing goes back."""
    head = request.method == "HEAD"
    size = archive.size or 0
    on_close = None
    if download_id is not None:
        on_close = partial(_transferred, download_id=download_id, reserved=reserved, size=size)
    response = send_archive(
        archive,
        stored,
        byte_range=byte_range,
        head=head,
        on_close=on_close,
        connection=request.META.get("gunicorn.socket"),
    )
    if head:
        return response
    part = byte_range or ByteRange(0, size - 1)
    metrics.count_bytes_served(part.length)
    if download_id is not None and stored.handle is None:
        record_transfer(
            download_id, start=part.start, sent=part.length, reserved=reserved, size=size
        )
    return response


def _transferred(sent: int, reached: int, *, download_id: int, reserved: int, size: int) -> None:
    record_transfer(download_id, start=reached - sent, sent=sent, reserved=reserved, size=size)
