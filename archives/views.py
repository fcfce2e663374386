"""The archive pages: home, upload, share page and its download, dashboard, edit, delete,
statistics, recipient links; and the site's error pages.

Downloads from the share page go through ``deliver_archive`` and the share page asks
``check_download``, so the page and the API obey one rule function. A share password
is only ever POSTed; once accepted, the visitor's session keeps a mark of it (never the
password itself), so the Download link and a browser resuming it need not ask again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from io import BytesIO
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode, urlsplit

import segno
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from accounts.api.auth import authenticated_user
from archives.delivery import Prefetch, Refusal, deliver_archive, is_prefetch
from archives.downloads import (
    DownloadDecision,
    Outcome,
    Share,
    check_download,
    clean_source,
    find_share,
    record_view,
    unlock_mark,
)
from archives.forms import EditForm, LinkEditForm, LinkForm, PasswordForm, UploadForm
from archives.models import Archive
from archives.services import (
    create_archive,
    create_link,
    delete_archive,
    get_owned_archive,
    get_owned_link,
    revoke_link,
    update_archive,
    update_link,
)
from core.clients import client_ip
from core.limits import LimitExceeded

if TYPE_CHECKING:
    from datetime import datetime

    from django.http import HttpRequest, HttpResponseBase

    from archives.models import Link

SESSION_UNLOCKED = "unlocked_shares"
SESSION_REFERERS = "share_referers"
DASHBOARD_PAGE_SIZE = 10
STATS_DAYS = (7, 30, 90)


def home(request: HttpRequest) -> HttpResponse:
    return render(request, "archives/home.html")


@login_required
@require_http_methods(["GET", "POST"])
def upload(request: HttpRequest) -> HttpResponse:
    """The upload page; the page's script sends to the API, this POST serves browsers
    without JavaScript."""
    form = UploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            archive = create_archive(
                authenticated_user(request),
                files=data["uploads"],
                name=data["name"],
                description=data["description"],
                password=data["password"],
                ttl=form.lifetime_seconds(),
                max_downloads=data.get("max_downloads"),
                now=timezone.now(),
            )
        except LimitExceeded as exc:
            form.add_error("uploads", str(exc))
        else:
            return redirect("archives:share", slug=archive.slug)
    status = 400 if form.errors else 200
    return render(request, "archives/upload.html", {"form": form}, status=status)


def share_url_of(request: HttpRequest, slug: str) -> str:
    return request.build_absolute_uri(reverse("archives:share", args=[slug]))


def qr_svg(url: str) -> str:
    """The QR code of ``url`` as inline SVG: black on white whatever the colour mode, with
    the quiet zone scanners need, sized by CSS (class ``qr-code``)."""
    code = segno.make(url, error="m")
    return code.svg_inline(
        scale=1, border=4, dark="#000", light="#fff", omitsize=True, svgclass="qr-code"
    )


def _unlocked(request: HttpRequest, share: Share) -> str | None:
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
}


def _render_share(
    request: HttpRequest,
    share: Share,
    decision: DownloadDecision,
    *,
    status: int,
    form: PasswordForm | None = None,
) -> HttpResponse:
    now = timezone.now()
    archive = share.archive
    url = share_url_of(request, share.slug)
    source = clean_source(request.GET.get("src"))
    limits = [share.archive.max_downloads, share.link.max_downloads if share.link else None]
    context: dict[str, Any] = {
        "archive": archive,
        "share_slug": share.slug,
        "share_expires_at": share.expires_at(),
        "share_downloads_left": share.downloads_left(),
        "share_limit": min((limit for limit in limits if limit is not None), default=0),
        "used_up": share.downloads_left() == 0,
        "download_query": f"?{urlencode({'src': source})}" if source else "",
        "files": archive.files.all(),
        "outcome": decision.outcome.value,
        "decision": decision,
        "share_url": url,
        "qr_svg": qr_svg(url),
        "form": form or PasswordForm(),
        "public_status": archive.public_status(now=now),
    }
    if decision.retry_after is not None:
        context["retry_at"] = now + timedelta(seconds=decision.retry_after)
        context["retry_minutes"] = max(1, -(-decision.retry_after // 60))
    response = render(request, "archives/share.html", context, status=status)
    if decision.outcome is Outcome.THROTTLED:
        response["Retry-After"] = str(decision.retry_after)
    return response


@require_safe
def share(request: HttpRequest, slug: str) -> HttpResponse:
    share = find_share(slug)
    decision = check_download(
        share,
        password=None,
        unlocked=_unlocked(request, share),
        client=client_ip(request.META),
        now=timezone.now(),
    )
    if request.method == "GET" and not is_prefetch(request):
        record_view(share)
        _remember_referer(request, share)
    return _render_share(request, share, decision, status=PAGE_STATUS[decision.outcome])


@require_POST
def unlock(request: HttpRequest, slug: str) -> HttpResponse:
    """Check a share password (POSTed, never in a URL) and keep it for the download."""
    share = find_share(slug)
    form = PasswordForm(request.POST)
    if not form.is_valid():
        decision = DownloadDecision(Outcome.PASSWORD_REQUIRED)
        return _render_share(request, share, decision, status=401, form=form)
    password = form.cleaned_data["password"]
    decision = check_download(
        share, password=password, client=client_ip(request.META), now=timezone.now()
    )
    if decision.outcome is Outcome.WRONG_PASSWORD:
        form.add_error("password", _("Wrong password. Check it and try again."))
        return _render_share(request, share, decision, status=403, form=form)
    if decision.outcome is Outcome.THROTTLED:
        return _render_share(request, share, decision, status=429)
    _remember_unlocked(request, share)
    source = clean_source(request.GET.get("src"))
    page = reverse("archives:share", args=[share.slug])
    return redirect(f"{page}?{urlencode({'src': source})}" if source else page)


@require_http_methods(["GET", "HEAD"])
def download(request: HttpRequest, slug: str) -> HttpResponseBase:
    """The ZIP, or a page saying why not, with the status of DESIGN section 4."""
    share = find_share(slug)
    result = deliver_archive(
        request,
        share,
        password=None,
        unlocked=_unlocked(request, share),
        referer=_referer_for_download(request, share),
    )
    if isinstance(result, Prefetch):
        return render(request, "archives/prefetch.html", {"archive": share.archive}, status=503)
    if isinstance(result, Refusal):
        return _render_share(request, share, result.decision, status=result.status)
    return result


@require_safe
def share_qr(request: HttpRequest, slug: str) -> HttpResponse:
    """The share link's QR code as an SVG image (the upload page shows it)."""
    share = find_share(slug)
    code = segno.make(share_url_of(request, share.slug), error="m")
    image = BytesIO()
    code.save(image, kind="svg", scale=8, border=4, dark="#000", light="#fff")
    return HttpResponse(image.getvalue(), content_type="image/svg+xml")


@login_required
@require_safe
def dashboard(request: HttpRequest) -> HttpResponse:
    archives = Archive.objects.owned_by(authenticated_user(request))
    page = Paginator(archives, DASHBOARD_PAGE_SIZE).get_page(request.GET.get("page"))
    now = timezone.now()
    rows = [(archive, archive.public_status(now=now)) for archive in page.object_list]
    return render(request, "archives/dashboard.html", {"page": page, "rows": rows})


@login_required
@require_http_methods(["GET", "POST"])
def edit(request: HttpRequest, archive_id: str) -> HttpResponse:
    archive = get_owned_archive(authenticated_user(request), archive_id)
    form = EditForm(request.POST or None, archive=archive)
    if request.method == "POST" and form.is_valid():
        update_archive(archive, now=timezone.now(), **form.changes())
        messages.success(
            request,
            _("Your changes to “%(name)s” are saved.") % {"name": form.cleaned_data["name"]},
        )
        return redirect("archives:dashboard")
    status = 400 if form.errors else 200
    return render(request, "archives/edit.html", {"archive": archive, "form": form}, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def delete(request: HttpRequest, archive_id: str) -> HttpResponse:
    archive = get_owned_archive(authenticated_user(request), archive_id)
    if request.method == "POST":
        name = archive.name
        delete_archive(archive, now=timezone.now())
        messages.success(request, _("“%(name)s” is deleted.") % {"name": name})
        return redirect("archives:dashboard")
    return render(request, "archives/delete.html", {"archive": archive})


@login_required
@require_safe
def stats(request: HttpRequest, archive_id: str) -> HttpResponse:
    archive = get_owned_archive(authenticated_user(request), archive_id)
    context = {
        "archive": archive,
        "day_choices": STATS_DAYS,
        "status": archive.public_status(now=timezone.now()),
    }
    return render(request, "archives/stats.html", context)


@dataclass(frozen=True)
class LinkRow:
    """A recipient link as its row on the links page shows it."""

    link: Link
    share_url: str
    qr_svg: str
    # The expiry that applies: the link's own or the archive's, whichever comes first.
    expires_at: datetime
    follows_archive: bool


def _link_rows(request: HttpRequest, archive: Archive) -> list[LinkRow]:
    rows = []
    for link in archive.links.all():
        url = share_url_of(request, link.slug)
        expires_at = Share(archive, link).expires_at()
        follows = expires_at == archive.expires_at
        rows.append(LinkRow(link, url, qr_svg(url), expires_at, follows_archive=follows))
    return rows


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def links(request: HttpRequest, archive_id: str) -> HttpResponse:
    """The archive's recipient links, and the form that adds one."""
    archive = get_owned_archive(authenticated_user(request), archive_id)
    form = LinkForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        link = create_link(archive, now=timezone.now(), **form.link_arguments())
        messages.success(request, _("The link “%(label)s” is ready.") % {"label": link.label})
        return redirect("archives:links", archive_id=archive.id)
    context = {"archive": archive, "form": form, "rows": _link_rows(request, archive)}
    return render(request, "archives/links.html", context, status=400 if form.errors else 200)


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def link_edit(request: HttpRequest, archive_id: str, link_id: str) -> HttpResponse:
    link = get_owned_link(authenticated_user(request), archive_id, link_id)
    form = LinkEditForm(request.POST or None, link=link)
    if request.method == "POST" and form.is_valid():
        update_link(link, now=timezone.now(), **form.changes())
        messages.success(
            request,
            _("Your changes to the link “%(label)s” are saved.")
            % {"label": form.cleaned_data["label"]},
        )
        return redirect("archives:links", archive_id=link.archive_id)
    expires_at = Share(link.archive, link).expires_at()
    context = {
        "archive": link.archive,
        "link": link,
        "form": form,
        "expires_at": expires_at,
        "follows_archive": expires_at == link.archive.expires_at,
    }
    status = 400 if form.errors else 200
    return render(request, "archives/link_edit.html", context, status=status)


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def link_revoke(request: HttpRequest, archive_id: str, link_id: str) -> HttpResponse:
    """Ask, then revoke: the link answers 404 from then on."""
    link = get_owned_link(authenticated_user(request), archive_id, link_id)
    if request.method == "POST":
        revoke_link(link, now=timezone.now())
        messages.success(request, _("The link “%(label)s” is revoked.") % {"label": link.label})
        return redirect("archives:links", archive_id=link.archive_id)
    return render(request, "archives/link_revoke.html", {"archive": link.archive, "link": link})


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """A refused form (expired page or cookies off), in the site's look."""
    return render(request, "403_csrf.html", {"reason": reason}, status=403)
