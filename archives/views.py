"""The owner's archive pages: home, upload, dashboard, edit, delete, statistics, recipient
links; and the site's error pages. The pages a share link opens are in ``sharing``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from accounts.api.auth import authenticated_user
from archives.addresses import qr_svg, share_url
from archives.forms import EditForm, LinkEditForm, LinkForm, UploadForm
from archives.limits import UploadWatch, usage_of
from archives.models import Archive
from archives.services import (
    create_archive,
    create_link,
    delete_archive,
    get_owned_archive,
    get_owned_link,
    retry_build,
    revoke_link,
    update_archive,
    update_link,
)
from core.limits import LimitExceeded
from core.parsers import serve_form_uploads

if TYPE_CHECKING:
    from datetime import datetime

    from django.http import HttpRequest, HttpResponse

    from archives.models import Link

DASHBOARD_PAGE_SIZE = 10
STATS_DAYS = (7, 30, 90)


def home(request: HttpRequest) -> HttpResponse:
    return render(request, "archives/home.html")


@csrf_exempt
@login_required
@require_http_methods(["GET", "POST"])
def upload(request: HttpRequest) -> HttpResponse:
    """The upload page; the page's script sends to the API, this POST serves browsers
    without JavaScript. Its files stream in under the owner's limits, so a body over them
    is refused (413) before it is stored."""

    def refused(exc: LimitExceeded) -> HttpResponse:
        context = {"form": UploadForm(), "refusal": str(exc)}
        return render(request, "archives/upload.html", context, status=exc.status_code)

    user = authenticated_user(request)
    return serve_form_uploads(request, UploadWatch(user), lambda: _upload(request), refused)


@csrf_protect
def _upload(request: HttpRequest) -> HttpResponse:
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
            return redirect("sharing:share", slug=archive.slug)
    status = 400 if form.errors else 200
    return render(request, "archives/upload.html", {"form": form}, status=status)


@login_required
@require_safe
def dashboard(request: HttpRequest) -> HttpResponse:
    archives = Archive.objects.owned_by(authenticated_user(request))
    page = Paginator(archives, DASHBOARD_PAGE_SIZE).get_page(request.GET.get("page"))
    now = timezone.now()
    rows = [
        (archive, archive.public_status(now=now), share_url(archive.slug, request=request))
        for archive in page.object_list
    ]
    usage = usage_of(authenticated_user(request))
    context = {"page": page, "rows": rows, "usage": usage}
    return render(request, "archives/dashboard.html", context)


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
@require_POST
def retry(request: HttpRequest, archive_id: str) -> HttpResponse:
    """Build a failed archive again (the dashboard's Retry button)."""
    archive = get_owned_archive(authenticated_user(request), archive_id)
    if retry_build(archive, now=timezone.now()):
        messages.success(request, _("“%(name)s” is being built again.") % {"name": archive.name})
    else:
        messages.info(
            request, _("“%(name)s” is not failed: nothing to retry.") % {"name": archive.name}
        )
    return redirect("archives:dashboard")


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
        url = share_url(link.slug, request=request)
        expires_at = link.effective_expiry
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
    expires_at = link.effective_expiry
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
