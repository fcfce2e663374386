"""One HTTP download of a share link, for the share API and the share page alike: apply
the download rules, count the download, and send the ZIP or a refusal."""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING

from django.conf import settings
from django.utils import timezone

from archives.downloads import (
    DownloadDecision,
    Outcome,
    Share,
    check_download,
    clean_source,
    record_download,
    record_transfer,
)
from archives.sending import Unsatisfiable, requested_range, send_archive, send_unsatisfiable
from config import metrics
from config.clients import client_ip

if TYPE_CHECKING:
    from django.http import HttpRequest, HttpResponseBase


GRANT_HEADER = "X-Download-Grant"
GRANT_COOKIE = "download_grant"
PREFETCH_PURPOSES = {"prefetch", "preview"}

# The HTTP status of each refusal (DESIGN section 4).
REFUSAL_STATUS = {
    Outcome.NOT_READY: 409,
    Outcome.DAMAGED: 409,
    Outcome.PASSWORD_REQUIRED: 401,
    Outcome.WRONG_PASSWORD: 403,
    Outcome.THROTTLED: 429,
    Outcome.EXPIRED: 410,
    Outcome.LIMIT_REACHED: 410,
}


@dataclass(frozen=True)
class Refusal:
    """The request may not have the archive; ``decision`` says why."""

    decision: DownloadDecision

    @property
    def status(self) -> int:
        return REFUSAL_STATUS[self.decision.outcome]


@dataclass(frozen=True)
class Prefetch:
    """A prefetch or link preview: answered without serving or counting anything."""


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
) -> HttpResponseBase | Refusal | Prefetch:
    """Serve the archive of ``share`` to ``request`` if the rules allow, counting a new
    download.

    HEAD and prefetches are never counted. A ``Range`` request carrying a valid grant
    resumes a counted download; any other request is a new download. A counted
    download's response carries its grant in the ``X-Download-Grant`` header and in a
    cookie scoped to the download path. ``referer`` replaces the request's own (the share
    page passes the page that led to it); ``?src=`` is stored as the download's source.
    The bytes each response sends are added to its download once the server is done.
    """
    if is_prefetch(request):
        return Prefetch()
    archive = share.archive
    now = timezone.now()
    client = client_ip(request.META)
    # A grant only resumes: a request for the whole file is a new download and counts.
    grant = None
    if request.headers.get("Range"):
        grant = request.headers.get(GRANT_HEADER) or request.COOKIES.get(GRANT_COOKIE)
    decision = check_download(
        share, password=password, client=client, now=now, grant=grant, unlocked=unlocked
    )
    if not decision.allowed:
        metrics.count_refusal(decision.outcome.value)
        return Refusal(decision)
    try:
        byte_range = requested_range(request, archive)
    except Unsatisfiable:
        return send_unsatisfiable(archive)
    head = request.method == "HEAD"
    download_id = decision.download_id
    counted = None
    if not head and not decision.is_resume:
        counted = record_download(
            share,
            client=client,
            referer=request.headers.get("Referer", "") if referer is None else referer,
            user_agent=request.headers.get("User-Agent", ""),
            source=clean_source(request.GET.get("src")),
            now=now,
        )
        if counted is None:
            metrics.count_refusal(Outcome.LIMIT_REACHED.value)
            return Refusal(DownloadDecision(Outcome.LIMIT_REACHED))
        download_id = counted.id
        metrics.count_download()
    on_close = None
    if download_id is not None:
        on_close = partial(_transferred, download_id=download_id, size=archive.size or 0)
    response = send_archive(archive, byte_range=byte_range, head=head, on_close=on_close)
    if not head:
        metrics.count_bytes_served(byte_range.length if byte_range else archive.size or 0)
    if counted is not None:
        response[GRANT_HEADER] = counted.grant
        response.set_cookie(
            GRANT_COOKIE,
            counted.grant,
            max_age=settings.DOWNLOAD_GRANT_TTL,
            path=request.path,
            secure=request.is_secure(),
            httponly=True,
            samesite="Lax",
        )
    return response


def _transferred(sent: int, reached: int, *, download_id: int, size: int) -> None:
    record_transfer(download_id, sent=sent, reached_end=reached == size, size=size)
