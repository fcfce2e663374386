"""The archive pages: home, upload, share page and its download, dashboard, edit, delete,
statistics; and the site's error pages.

Downloads from the share page go through ``deliver_archive`` and the share page asks
``check_download``, so the page and the API obey one rule function. A share password
is only ever POSTed; once accepted, the visitor's session keeps a mark of it (never the
password itself), so the Download link and a browser resuming it need not ask again.
"""

from __future__ import annotations

from datetime import timedelta
from io import BytesIO
from typing import TYPE_CHECKING, Any

import segno
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from accounts.api.auth import authenticated_user
from archives.delivery import Prefetch, Refusal, deliver_archive
from archives.downloads import DownloadDecision, Outcome, check_download, unlock_mark
from archives.forms import EditForm, PasswordForm, UploadForm
from archives.limits import LimitExceeded
from archives.models import Archive
from archives.names import name_from_file
from archives.services import create_archive, delete_archive, get_owned_archive, update_archive
from config.clients import client_ip

if TYPE_CHECKING:
    from django.http import HttpRequest, HttpResponseBase

SESSION_UNLOCKED = "unlocked_shares"
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
                name=data["name"] or name_from_file(data["uploads"][0].name),
                description=data["description"],
                password=data["password"],
                ttl=form.lifetime_seconds() or settings.ARCHIVE_DEFAULT_TTL,
                max_downloads=data.get("max_downloads"),
                now=timezone.now(),
            )
        except LimitExceeded as exc:
            form.add_error("uploads", str(exc))
        else:
            return redirect("archives:share", slug=archive.slug)
    status = 400 if form.errors else 200
    return render(request, "archives/upload.html", {"form": form}, status=status)


def share_url_of(request: HttpRequest, archive: Archive) -> str:
    return request.build_absolute_uri(reverse("archives:share", args=[archive.slug]))


def qr_svg(url: str) -> str:
    """The QR code of ``url`` as inline SVG: black on white whatever the colour mode, with
    the quiet zone scanners need, sized by CSS (class ``qr-code``)."""
    code = segno.make(url, error="m")
    return code.svg_inline(
        scale=1, border=4, dark="#000", light="#fff", omitsize=True, svgclass="qr-code"
    )


def _unlocked(request: HttpRequest, archive: Archive) -> str | None:
    return (request.session.get(SESSION_UNLOCKED) or {}).get(archive.slug)


def _remember_unlocked(request: HttpRequest, archive: Archive) -> None:
    marks = dict(request.session.get(SESSION_UNLOCKED) or {})
    marks[archive.slug] = unlock_mark(archive)
    request.session[SESSION_UNLOCKED] = marks


# The status of the share page for each decision: the page itself stays 200 while there
# is something to do on it (wait for the build, enter the password, download).
PAGE_STATUS = {
    Outcome.ALLOWED: 200,
    Outcome.NOT_READY: 200,
    Outcome.PASSWORD_REQUIRED: 200,
    Outcome.WRONG_PASSWORD: 403,
    Outcome.THROTTLED: 429,
    Outcome.EXPIRED: 410,
    Outcome.LIMIT_REACHED: 410,
}


def _render_share(
    request: HttpRequest,
    archive: Archive,
    decision: DownloadDecision,
    *,
    status: int,
    form: PasswordForm | None = None,
) -> HttpResponse:
    now = timezone.now()
    url = share_url_of(request, archive)
    context: dict[str, Any] = {
        "archive": archive,
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
    archive = get_object_or_404(Archive, slug=slug)
    decision = check_download(
        archive,
        password=None,
        unlocked=_unlocked(request, archive),
        client=client_ip(request.META),
        now=timezone.now(),
    )
    return _render_share(request, archive, decision, status=PAGE_STATUS[decision.outcome])


@require_POST
def unlock(request: HttpRequest, slug: str) -> HttpResponse:
    """Check a share password (POSTed, never in a URL) and keep it for the download."""
    archive = get_object_or_404(Archive, slug=slug)
    form = PasswordForm(request.POST)
    if not form.is_valid():
        decision = DownloadDecision(Outcome.PASSWORD_REQUIRED)
        return _render_share(request, archive, decision, status=401, form=form)
    password = form.cleaned_data["password"]
    decision = check_download(
        archive, password=password, client=client_ip(request.META), now=timezone.now()
    )
    if decision.outcome is Outcome.WRONG_PASSWORD:
        form.add_error("password", _("Wrong password. Check it and try again."))
        return _render_share(request, archive, decision, status=403, form=form)
    if decision.outcome is Outcome.THROTTLED:
        return _render_share(request, archive, decision, status=429)
    _remember_unlocked(request, archive)
    return redirect("archives:share", slug=archive.slug)


@require_http_methods(["GET", "HEAD"])
def download(request: HttpRequest, slug: str) -> HttpResponseBase:
    """The ZIP, or a page saying why not, with the status of DESIGN section 4."""
    archive = get_object_or_404(Archive, slug=slug)
    result = deliver_archive(request, archive, password=None, unlocked=_unlocked(request, archive))
    if isinstance(result, Prefetch):
        return render(request, "archives/prefetch.html", {"archive": archive}, status=503)
    if isinstance(result, Refusal):
        return _render_share(request, archive, result.decision, status=result.status)
    return result


@require_safe
def share_qr(request: HttpRequest, slug: str) -> HttpResponse:
    """The share link's QR code as an SVG image (the upload page shows it)."""
    archive = get_object_or_404(Archive, slug=slug)
    code = segno.make(share_url_of(request, archive), error="m")
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
        delete_archive(archive)
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


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """A refused form (expired page or cookies off), in the site's look."""
    return render(request, "403_csrf.html", {"reason": reason}, status=403)
