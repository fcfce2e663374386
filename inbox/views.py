"""The upload request pages: the owner's list, one request's submissions, and the page a
sender opens (``/r/<slug>/``) with its password form, upload form and receipt."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.crypto import constant_time_compare, salted_hmac
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from accounts.api.auth import authenticated_user
from archives.addresses import qr_svg, share_url
from archives.limits import UploadWatch
from core.clients import client_ip
from core.forms import PasswordForm
from core.limits import LimitExceeded
from core.parsers import serve_form_uploads
from inbox.api.serializers import public_view, request_status, sender_page_url
from inbox.forms import RequestForm, SendForm
from inbox.models import UploadRequest
from inbox.services import (
    Flooded,
    PasswordRefused,
    RequestGone,
    Sender,
    caps_of,
    check_sender_password,
    count_submission_attempt,
    create_request,
    find_open_request,
    get_owned_request,
    submit,
    update_request,
)

if TYPE_CHECKING:
    from datetime import datetime

    from django.http import HttpRequest, HttpResponse

UNLOCK_SALT = "inbox.unlock"


@login_required
@require_http_methods(["GET", "POST"])
def requests_page(request: HttpRequest) -> HttpResponse:
    """The owner's upload requests, each with its link, QR code and copy button, and the
    form of a new one."""
    owner = authenticated_user(request)
    form = RequestForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        created = create_request(owner, now=timezone.now(), **form.request_arguments())
        messages.success(request, _("“%(name)s” is open: send its link.") % {"name": created.name})
        return redirect("inbox:requests")
    now = timezone.now()
    rows = []
    for upload_request in UploadRequest.objects.filter(owner=owner):
        url = sender_page_url(upload_request.slug, request=request)
        rows.append(
            {
                "request": upload_request,
                "url": url,
                "qr_svg": qr_svg(url),
                "status": request_status(upload_request, now=now),
            }
        )
    status = 400 if form.errors else 200
    return render(request, "inbox/requests.html", {"rows": rows, "form": form}, status=status)


@login_required
@require_safe
def request_page(request: HttpRequest, request_id: str) -> HttpResponse:
    """One request's submissions: sender, note, size, status and the archive of each."""
    upload_request = get_owned_request(authenticated_user(request), request_id)
    now = timezone.now()
    rows = [
        {
            "submission": submission,
            "archive": submission.archive,
            "status": submission.archive.public_status(now=now) if submission.archive else "",
            "share_url": share_url(submission.archive.slug, request=request)
            if submission.archive
            else "",
        }
        for submission in upload_request.submissions.select_related("archive")
    ]
    context = {
        "upload_request": upload_request,
        "rows": rows,
        "url": sender_page_url(upload_request.slug, request=request),
        "status": request_status(upload_request, now=now),
    }
    return render(request, "inbox/request.html", context)


@login_required
@require_POST
def close(request: HttpRequest, request_id: str) -> HttpResponse:
    """Close an open request, or open a closed one again."""
    upload_request = get_owned_request(authenticated_user(request), request_id)
    closing = upload_request.closed_at is None
    update_request(upload_request, now=timezone.now(), closed=closing)
    text = _("“%(name)s” is closed.") if closing else _("“%(name)s” is open again.")
    messages.success(request, text % {"name": upload_request.name})
    return redirect("inbox:requests")


def _unlock_mark(upload_request: UploadRequest) -> str:
    return salted_hmac(UNLOCK_SALT, f"{upload_request.slug}:{upload_request.password}").hexdigest()


def _is_unlocked(request: HttpRequest, upload_request: UploadRequest) -> bool:
    if not upload_request.password:
        return True
    mark = request.session.get(f"inbox-unlock:{upload_request.slug}")
    return isinstance(mark, str) and constant_time_compare(mark, _unlock_mark(upload_request))


@csrf_exempt
@require_http_methods(["GET", "POST"])
def send(request: HttpRequest, slug: str) -> HttpResponse:
    """The sender's page: the owner's message and limits, the password form when one is
    set, the upload form, and the receipt of what was received.

    A form posted without the page's script streams its files in under the request's and
    the owner's limits, so one over them is refused (413) before it is stored: the limits
    are set before the CSRF check (``_send``) reads the body."""
    now = timezone.now()
    try:
        upload_request = find_open_request(slug, now=now)
    except RequestGone as exc:
        return render(request, "inbox/gone.html", {"detail": str(exc)}, status=410)
    context: dict[str, object] = {"view": public_view(upload_request)}
    if not _is_unlocked(request, upload_request):
        return _unlock(request, upload_request, context, now=now)

    def refused(exc: LimitExceeded) -> HttpResponse:
        context.update(form=SendForm(), refusal=str(exc))
        return render(request, "inbox/send.html", context, status=exc.status_code)

    return serve_form_uploads(
        request,
        UploadWatch(upload_request.owner, caps=caps_of(upload_request)),
        lambda: _send(request, upload_request, context, now=now),
        refused,
    )


@csrf_protect
def _unlock(
    request: HttpRequest, upload_request: UploadRequest, context: dict[str, object], *,
    now: datetime,
) -> HttpResponse:  # fmt: skip
    form = PasswordForm(request.POST or None)
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            check_sender_password(
                upload_request,
                form.cleaned_data["password"],
                client=client_ip(request.META),
                now=now,
            )
        except PasswordRefused as exc:
            form.add_error("password", str(exc))
            status = exc.status_code
        else:
            request.session[f"inbox-unlock:{upload_request.slug}"] = _unlock_mark(upload_request)
            return redirect("inbox:send", slug=upload_request.slug)
    context["password_form"] = form
    return render(request, "inbox/send.html", context, status=status)


@csrf_protect
def _send(
    request: HttpRequest, upload_request: UploadRequest, context: dict[str, object], *,
    now: datetime,
) -> HttpResponse:  # fmt: skip
    form = SendForm(request.POST or None, request.FILES or None)
    status = 200
    client = client_ip(request.META)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            count_submission_attempt(client=client, now=now)
            receipt = submit(
                upload_request,
                files=data["files"],
                paths=None,
                sender=Sender.from_fields(data, ip=client),
                now=now,
            )
        except RequestGone as exc:
            return render(request, "inbox/gone.html", {"detail": str(exc)}, status=410)
        except Flooded as exc:
            form.add_error(None, str(exc))
            status = 429
        except LimitExceeded as exc:
            form.add_error("files", str(exc))
            status = exc.status_code
        else:
            return render(request, "inbox/receipt.html", {**context, "receipt": receipt})
    elif form.errors:
        status = 400
    context["form"] = form
    return render(request, "inbox/send.html", context, status=status)
