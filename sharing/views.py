"""The share page and its download, the password form, and the link's QR code: the pages
anyone holding a share link sees.

Downloads from the share page go through ``deliver_archive`` and the share page asks
``check_download``, so the page and the API obey one rule function. A share password
is only ever POSTed; once accepted, the visitor's session keeps a mark of it (never the
password itself), so the Download link and a browser resuming it need not ask again.
"""

from __future__ import annotations

from datetime import timedelta
from io import BytesIO
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode, urlsplit

import segno
from django.db.models.functions import Length
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from archives.addresses import qr_svg, share_url
from core.clients import client_ip
from core.forms import PasswordForm
from sharing.delivery import (
    Prefetch,
    Refusal,
    Unavailable,
    deliver_archive,
    is_prefetch,
    refusal_headers,
)
from sharing.disclosure import may_see_hashes
from sharing.downloads import (
    DownloadDecision,
    Outcome,
    Share,
    check_download,
    clean_source,
    find_member,
    find_share,
    index_unknown_members,
    record_view,
    unlock_mark,
)

if TYPE_CHECKING:
    from django.http import HttpRequest, HttpResponseBase

    from archives.models import ArchiveFile

SESSION_UNLOCKED = "unlocked_shares"
SESSION_REFERERS = "share_referers"


def unlocked_mark(request: HttpRequest, share: Share) -> str | None:
    """The unlock mark the visitor's session keeps for ``share`` (``unlock_mark``)."""
    return (request.session.get(SESSION_UNLOCKED) or {}).get(share.slug)


def _remember_unlocked(request: HttpRequest, share: Share) -> None:
    marks = dict(request.session.get(SESSION_UNLOCKED) or {})
    marks[share.slug] = unlock_mark(share)
    request.session[SESSION_UNLOCKED] = marks


def _remember_referer(request: HttpRequest, share: Share) -> None:
    """Keep the page that led a visitor to the share page, so the download they start
    from it is logged with that referer rather than with the share page itself."""
    referer = request.headers.get("Referer", "")
    if referer and urlsplit(referer).netloc != request.get_host():
        referers = dict(request.session.get(SESSION_REFERERS) or {})
        referers[share.slug] = referer[:512]
        request.session[SESSION_REFERERS] = referers


def _referer_for_download(request: HttpRequest, share: Share) -> str | None:
    """The referer to log: the one kept by the share page when the download comes from
    it, else the request's own (None)."""
    referer = request.headers.get("Referer", "")
    if referer and urlsplit(referer).netloc == request.get_host():
        return (request.session.get(SESSION_REFERERS) or {}).get(share.slug, "")
    return None


# The status of the share page for each decision: the page itself stays 200 while there
# is something to do on it (wait for the build, enter the password, download).
PAGE_STATUS = {
    Outcome.ALLOWED: 200,
    Outcome.NOT_READY: 200,
    Outcome.DAMAGED: 409,
    Outcome.PASSWORD_REQUIRED: 200,
    Outcome.WRONG_PASSWORD: 403,
    Outcome.THROTTLED: 429,
    Outcome.EXPIRED: 410,
    Outcome.LIMIT_REACHED: 410,
    Outcome.GRANT_USED_UP: 410,
}


def render_share(
    request: HttpRequest,
    share: Share,
    decision: DownloadDecision,
    *,
    status: int,
    form: PasswordForm | None = None,
    unavailable: bool = False,
) -> HttpResponse:
    now = timezone.now()
    archive = share.archive
    url = share_url(share.slug, request=request)
    source = clean_source(request.GET.get("src"))
    limits = [share.archive.max_downloads, share.link.max_downloads if share.link else None]
    files = list(archive.files.defer("thumbnail").annotate(thumbnail_bytes=Length("thumbnail")))
    index_unknown_members(share, files)
    context: dict[str, Any] = {
        "archive": archive,
        "share_slug": share.slug,
        "share_expires_at": share.expires_at(),
        "share_downloads_left": share.downloads_left(),
        "share_limit": min((limit for limit in limits if limit is not None), default=0),
        "used_up": share.is_used_up,
        "download_query": f"?{urlencode({'src': source})}" if source else "",
        "files": files,
        # Thumbnails shown as a gallery when most files are images with one.
        "gallery": 2 * sum(1 for file in files if getattr(file, "thumbnail_bytes", 0)) > len(files),
        "show_hashes": may_see_hashes(
            share,
            viewer_id=request.user.pk,
            password=None,
            unlocked=unlocked_mark(request, share),
            client=client_ip(request.META),
            now=now,
        ),
        "outcome": "unavailable" if unavailable else decision.outcome.value,
        "decision": decision,
        "share_url": url,
        "qr_svg": qr_svg(url),
        "form": form or PasswordForm(),
    }
    if decision.retry_after is not None:
        context["retry_at"] = now + timedelta(seconds=decision.retry_after)
        context["retry_minutes"] = max(1, -(-decision.retry_after // 60))
    response = render(request, "sharing/share.html", context, status=status)
    for header, value in refusal_headers(decision).items():
        response[header] = value
    return response


@require_safe
def share(request: HttpRequest, slug: str) -> HttpResponse:
    share = find_share(slug)
    decision = check_download(
        share,
        password=None,
        unlocked=unlocked_mark(request, share),
        client=client_ip(request.META),
        now=timezone.now(),
    )
    if request.method == "GET" and not is_prefetch(request):
        record_view(share)
        _remember_referer(request, share)
    return render_share(request, share, decision, status=PAGE_STATUS[decision.outcome])


@require_POST
def unlock(request: HttpRequest, slug: str) -> HttpResponse:
    """Check a share password (POSTed, never in a URL) and keep it for the download."""
    share = find_share(slug)
    form = PasswordForm(request.POST)
    if not form.is_valid():
        decision = DownloadDecision(Outcome.PASSWORD_REQUIRED)
        return render_share(request, share, decision, status=401, form=form)
    password = form.cleaned_data["password"]
    decision = check_download(
        share, password=password, client=client_ip(request.META), now=timezone.now()
    )
    if decision.outcome is Outcome.WRONG_PASSWORD:
        form.add_error("password", _("Wrong password. Check it and try again."))
        return render_share(request, share, decision, status=403, form=form)
    if decision.outcome is Outcome.THROTTLED:
        return render_share(request, share, decision, status=429)
    _remember_unlocked(request, share)
    source = clean_source(request.GET.get("src"))
    page = reverse("sharing:share", args=[share.slug])
    return redirect(f"{page}?{urlencode({'src': source})}" if source else page)


@require_http_methods(["GET", "HEAD"])
def download(request: HttpRequest, slug: str) -> HttpResponseBase:
    """The ZIP, or a page saying why not, with the status of DESIGN section 4."""
    share = find_share(slug)
    return _download(request, share, member=None)


@require_http_methods(["GET", "HEAD"])
def file_download(request: HttpRequest, slug: str, index: int) -> HttpResponseBase:
    """One file of the ZIP (DESIGN section 10), under the same rules as the ZIP."""
    share = find_share(slug)
    return _download(request, share, member=find_member(share, index))


def _download(
    request: HttpRequest, share: Share, *, member: ArchiveFile | None
) -> HttpResponseBase:
    result = deliver_archive(
        request,
        share,
        password=None,
        unlocked=unlocked_mark(request, share),
        referer=_referer_for_download(request, share),
        member=member,
    )
    if isinstance(result, Prefetch):
        return render(request, "sharing/prefetch.html", {"archive": share.archive}, status=503)
    if isinstance(result, Refusal):
        return render_share(request, share, result.decision, status=result.status)
    if isinstance(result, Unavailable):
        # A damaged archive says so (and the owner's dashboard shows it); storage that
        # does not answer asks the visitor to come back.
        decision = DownloadDecision(Outcome.DAMAGED if result.is_damaged else Outcome.ALLOWED)
        return render_share(
            request, share, decision, status=result.status, unavailable=not result.is_damaged
        )
    return result


@require_safe
def share_qr(request: HttpRequest, slug: str) -> HttpResponse:
    """The share link's QR code as an SVG image (the upload page shows it)."""
    share = find_share(slug)
    code = segno.make(share_url(share.slug, request=request), error="m")
    image = BytesIO()
    code.save(image, kind="svg", scale=8, border=4, dark="#000", light="#fff")
    return HttpResponse(image.getvalue(), content_type="image/svg+xml")
