"""The preview of one file of a share (DESIGN section 10): its page, its raw bytes and its
thumbnail, for anyone who may download the archive now.

A preview is a view, not a download: it counts on the page's view counter
(``record_view``) and never uses up a download or a grant. ``check_download`` guards it
as it guards the download (password, expiry, limit), with the unlock mark the share page
keeps. Only what the build sniffed as previewable (``ArchiveFile.preview``) has raw bytes
and a page showing it; the raw bytes are inline only for the allow-list
(``sharing.members.INLINE_TYPES``), under ``Content-Security-Policy: default-src 'none';
sandbox``, ``nosniff`` and ``Cross-Origin-Resource-Policy: same-origin``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_safe

from archives.zipping.sniffing import PDF, TEXT
from core.clients import client_ip
from core.security import content_security_policy
from sharing.delivery import REFUSAL_STATUS, is_prefetch
from sharing.downloads import Share, check_download, find_member, find_share, record_view
from sharing.members import (
    MemberBody,
    MemberUnavailable,
    member_etag,
    member_headers,
    member_unsatisfiable,
    open_member,
    send_member,
)
from sharing.sending import ByteRange, Unsatisfiable, range_of
from sharing.views import PAGE_STATUS, render_share, unlocked_mark

if TYPE_CHECKING:
    from django.http import HttpRequest, HttpResponseBase

    from archives.models import ArchiveFile
    from sharing.downloads import DownloadDecision

# The policy of a PDF's preview page: the pages' own, and PDF.js's worker from this site.
PDF_PAGE_POLICY = content_security_policy(worker_src="'self'")
# The bytes of a text file its preview page shows.
TEXT_PREVIEW_BYTES = 256 * 1024


def _decision(request: HttpRequest, share: Share) -> DownloadDecision:
    return check_download(
        share,
        password=None,
        unlocked=unlocked_mark(request, share),
        client=client_ip(request.META),
        now=timezone.now(),
    )


def _previewable(share: Share, index: int) -> ArchiveFile:
    member = find_member(share, index)
    if not member.preview:
        raise Http404("This file has no preview; download it.")
    return member


def text_head(share: Share, member: ArchiveFile, *, limit: int = TEXT_PREVIEW_BYTES) -> str:
    """The first ``limit`` bytes of a text member as text (a character cut at the end, or
    any byte that is not UTF-8, shows as U+FFFD); the template escapes it."""
    head = ByteRange(0, min(member.size, limit) - 1)
    handle = open_member(share.archive, member, head)
    body = MemberBody(handle, member, start=head.start, end=head.end)
    try:
        data = b"".join(body)
    finally:
        body.close()
    return data.decode("utf-8", errors="replace")


@require_safe
def preview(request: HttpRequest, slug: str, index: int) -> HttpResponse:
    """The preview page of one file: an image, an audio or video player, a PDF's pages
    drawn by PDF.js (static/js/pdf-preview.mjs), or the start of a text; anything else
    offers its download."""
    share = find_share(slug)
    member = find_member(share, index)
    decision = _decision(request, share)
    if not decision.allowed:
        return render_share(request, share, decision, status=PAGE_STATUS[decision.outcome])
    if request.method == "GET" and not is_prefetch(request):
        record_view(share)
    text = None
    if member.preview == TEXT:
        try:
            text = text_head(share, member)
        except (MemberUnavailable, OSError):
            text = None
    context = {
        "archive": share.archive,
        "share_slug": share.slug,
        "file": member,
        "text": text,
        "text_is_cut": member.size > TEXT_PREVIEW_BYTES,
        "text_preview_kib": TEXT_PREVIEW_BYTES // 1024,
    }
    response = render(request, "sharing/preview.html", context)
    if member.preview == PDF:
        # PDF.js draws the pages in a worker of its own, loaded from this site.
        response["Content-Security-Policy"] = PDF_PAGE_POLICY
    return response


def _refused(decision: DownloadDecision) -> JsonResponse:
    return JsonResponse(
        {"detail": "This file cannot be previewed now.", "reason": decision.outcome.value},
        status=REFUSAL_STATUS[decision.outcome],
    )


@require_safe
def raw(request: HttpRequest, slug: str, index: int) -> HttpResponseBase:
    """The raw bytes of a previewable file, inline only for the allow-list; ``Range``
    works (players seek with it). Counted nowhere: the preview page counted the view."""
    share = find_share(slug)
    member = _previewable(share, index)
    decision = _decision(request, share)
    if not decision.allowed:
        return _refused(decision)
    try:
        byte_range = range_of(request, size=member.size, etag=member_etag(member))
    except Unsatisfiable:
        return member_unsatisfiable(member)
    if request.method == "HEAD":
        return send_member(member, None, byte_range=byte_range, inline=True)
    try:
        handle = open_member(share.archive, member, byte_range)
    except (MemberUnavailable, OSError):
        return JsonResponse({"detail": "This file cannot be read now."}, status=503)
    return send_member(member, handle, byte_range=byte_range, inline=True)


@require_safe
def thumbnail(request: HttpRequest, slug: str, index: int) -> HttpResponse:
    """The thumbnail the build made of an image file (PNG)."""
    share = find_share(slug)
    member = find_member(share, index)
    if not member.thumbnail:
        raise Http404("This file has no thumbnail.")
    decision = _decision(request, share)
    if not decision.allowed:
        return _refused(decision)
    response = HttpResponse(bytes(member.thumbnail))
    member_headers(response, member, inline=True)
    response["Content-Type"] = "image/png"
    response["Content-Disposition"] = "inline"
    response["ETag"] = f'"{member.sha256}-thumbnail"'
    del response["Accept-Ranges"]
    return response
