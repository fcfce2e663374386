"""The notifications page: webhooks with their secrets and delivery logs, a test send,
and the e-mail choices. Each form posts to its own URL and comes back to the page."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from accounts.api.auth import authenticated_user
from notifications.forms import EmailChoiceForm, WebhookForm
from notifications.models import Event, Webhook
from notifications.services import (
    TooManyWebhooks,
    create_webhook,
    delete_webhook,
    get_email_choice,
    get_owned_webhook,
    send_test,
    update_email_choice,
    update_webhook,
)
from notifications.targets import TargetRefused

if TYPE_CHECKING:
    from django.http import HttpRequest, HttpResponse

    from accounts.models import User

LOG_ROWS = 10


def _page(
    request: HttpRequest,
    *,
    webhook_form: WebhookForm | None = None,
    email_form: EmailChoiceForm | None = None,
    status: int = 200,
) -> HttpResponse:
    user = authenticated_user(request)
    choice = get_email_choice(user)
    webhooks = [
        (webhook, webhook.deliveries.prefetch_related("attempts")[:LOG_ROWS])
        for webhook in Webhook.objects.filter(owner=user)
    ]
    context: dict[str, Any] = {
        "webhooks": webhooks,
        "event_labels": dict(Event.choices),
        "webhook_form": webhook_form or WebhookForm(),
        "email_form": email_form
        or EmailChoiceForm(initial={"email": user.email, "events": choice.events}),
        "log_rows": LOG_ROWS,
    }
    return render(request, "notifications/notifications.html", context, status=status)


@login_required
@require_safe
def notifications(request: HttpRequest) -> HttpResponse:
    return _page(request)


@login_required
@require_POST
def add_webhook(request: HttpRequest) -> HttpResponse:
    form = WebhookForm(request.POST)
    if form.is_valid():
        try:
            create_webhook(authenticated_user(request), now=timezone.now(), **form.cleaned_data)
        except TargetRefused as exc:
            form.add_error("url", str(exc))
        except TooManyWebhooks as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(
                request, _("The webhook is added. Keep its secret to check signatures.")
            )
            return redirect("notifications:page")
    return _page(request, webhook_form=form, status=400)


@login_required
@require_POST
def test_webhook(request: HttpRequest, webhook_id: str) -> HttpResponse:
    webhook = get_owned_webhook(authenticated_user(request), webhook_id)
    send_test(webhook, now=timezone.now())
    messages.info(request, _("A test event is on its way; its delivery shows in the log."))
    return redirect(f"{_page_url()}#webhook-{webhook.id}")


@login_required
@require_POST
def toggle_webhook(request: HttpRequest, webhook_id: str) -> HttpResponse:
    webhook = get_owned_webhook(authenticated_user(request), webhook_id)
    update_webhook(webhook, is_active=not webhook.is_active)
    if webhook.is_active:
        messages.success(request, _("The webhook is on again."))
    else:
        messages.success(request, _("The webhook is paused: events are not sent to it."))
    return redirect(f"{_page_url()}#webhook-{webhook.id}")


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def delete(request: HttpRequest, webhook_id: str) -> HttpResponse:
    webhook = get_owned_webhook(authenticated_user(request), webhook_id)
    if request.method == "POST":
        delete_webhook(webhook)
        messages.success(request, _("The webhook and its delivery log are deleted."))
        return redirect("notifications:page")
    return render(request, "notifications/delete.html", {"webhook": webhook})


@login_required
@require_POST
def email_choices(request: HttpRequest) -> HttpResponse:
    form = EmailChoiceForm(request.POST)
    if not form.is_valid():
        return _page(request, email_form=form, status=400)
    user: User = authenticated_user(request)
    update_email_choice(user, **form.cleaned_data)
    messages.success(request, _("Your e-mail choices are saved."))
    return redirect(f"{_page_url()}#email")


def _page_url() -> str:
    return reverse("notifications:page")
