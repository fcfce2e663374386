"""One HTTP download of a share link, for the share API and the share page alike: apply
the download rules, count the download, and send the ZIP or a refusal."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.conf import settings
from django.utils import timezone

from archives.downloads import (
    DownloadDecision,
    Outcome,
    check_download,
    record_download,
)
from archives.sending import Unsatisfiable, requested_range, send_archive, send_unsatisfiable
from config import metrics
from config.clients import client_ip

if TYPE_CHECKING:
    from django.http import HttpRequest, HttpResponseBase

    from archives.models import Archive

GRANT_HEADER = "X-Download-Grant"
GRANT_COOKIE = "download_grant"
PREFETCH_PURPOSES = {"prefetch", "preview"}

# The HTTP status of each refusal (DESIGN section 4).
REFUSAL_STATUS = {
    Outcome.NOT_READY: 409,
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
    archive: Archive,
    *,
    password: str | None,
    unlocked: str | None = None,
) -> HttpResponseBase | Refusal | Prefetch:
    """Serve ``archive`` to ``request`` if the rules allow, counting a new download.

    HEAD and prefetches are never counted. A ``Range`` request carrying a valid grant
    resumes a counted download; any other request is a new download. A counted
    download's response carries its grant in the ``X-Download-Grant`` header and in a
    cookie scoped to the download path.
    """
    if is_prefetch(request):
        return Prefetch()
    now = timezone.now()
    client = client_ip(request.META)
    # A grant only resumes: a request for the whole file is a new download and counts.
    grant = None
    if request.headers.get("Range"):
        grant = request.headers.get(GRANT_HEADER) or request.COOKIES.get(GRANT_COOKIE)
    decision = check_download(
        archive, password=password, client=client, now=now, grant=grant, unlocked=unlocked
    )
    if not decision.allowed:
        metrics.count_refusal(decision.outcome.value)
        return Refusal(decision)
    try:
        byte_range = requested_range(request, archive)
    except Unsatisfiable:
        return send_unsatisfiable(archive)
    head = request.method == "HEAD"
    new_grant = None
    if not head and not decision.is_resume:
        new_grant = record_download(
            archive,
            client=client,
            referer=request.headers.get("Referer", ""),
            user_agent=request.headers.get("User-Agent", ""),
            now=now,
        )
        if new_grant is None:
            metrics.count_refusal(Outcome.LIMIT_REACHED.value)
            return Refusal(DownloadDecision(Outcome.LIMIT_REACHED))
        metrics.count_download()
    response = send_archive(archive, byte_range=byte_range, head=head)
    if not head:
        metrics.count_bytes_served(byte_range.length if byte_range else archive.size or 0)
    if new_grant is not None:
        response[GRANT_HEADER] = new_grant
        response.set_cookie(
            GRANT_COOKIE,
            new_grant,
            max_age=settings.DOWNLOAD_GRANT_TTL,
            path=request.path,
            secure=request.is_secure(),
            httponly=True,
            samesite="Lax",
        )
    return response
