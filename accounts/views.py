"""Account pages: register, log in, log out (each returns to ``next`` when it is safe),
and the API keys page."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from allauth.account import views as allauth_views
from allauth.account.utils import complete_signup
from allauth.socialaccount.adapter import get_adapter as get_social_adapter
from allauth.socialaccount.models import SocialApp
from allauth.socialaccount.providers.oauth2.views import OAuth2CallbackView
from allauth.socialaccount.providers.openid_connect import views as allauth_oidc_views
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import add_never_cache_headers
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from accounts.adapters import is_safe_redirect
from accounts.api.auth import authenticated_user
from accounts.forms import ApiKeyForm, LoginForm, RegisterForm
from accounts.keys import create_api_key, get_owned_key, keys_of, revoke_api_key
from accounts.oidc import OpenIDConnectAdapter, sign_in_policy
from accounts.services import (
    LoginThrottled,
    UsernameTaken,
    register_user,
    start_provider_sign_in,
)
from core.clients import client_ip

if TYPE_CHECKING:
    from django.http import HttpRequest, HttpResponse


def safe_next(request: HttpRequest, *, default: str) -> str:
    """The ``next`` address of the request when it stays on this site, else ``default``."""
    target = request.POST.get("next") or request.GET.get("next") or ""
    return target if is_safe_redirect(request, target) else default


def sign_in_context(request: HttpRequest) -> dict[str, Any]:
    """What the login and register pages offer besides a password (``password_login``
    comes from ``accounts.context_processors.sign_in``): the providers' buttons, each a
    label and the address its form posts to."""
    providers = get_social_adapter(request).list_providers(request)
    return {
        "providers": [
            {"label": provider.name, "url": provider.get_login_url(request)}
            for provider in providers
        ]
    }


def with_sign_in_policy(request: HttpRequest, response: HttpResponse) -> HttpResponse:
    """``response`` under the site's Content-Security-Policy, except that its forms may
    lead to the providers (posting to a provider's sign-in answers with a redirect there)."""
    apps = get_social_adapter(request).list_apps(request, provider="openid_connect")
    response["Content-Security-Policy"] = sign_in_policy(apps)
    return response


class LoginView(allauth_views.LoginView):
    """django-allauth's login (its flow, then its stages), on our page and form
    (``ACCOUNT_FORMS``); a refusal for too many failures answers 429 with Retry-After.
    With ``PASSWORD_LOGIN`` false the page offers the providers only and a POST is 403."""

    template_name = "accounts/login.html"

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not settings.PASSWORD_LOGIN:
            response = self.render_to_response(self.get_context_data(password_refused=True))
            response.status_code = 403
            return response
        return super().post(request, *args, **kwargs)

    def form_invalid(self, form: LoginForm) -> HttpResponse:
        response = super().form_invalid(form)
        if form.retry_after is not None:
            response.status_code = 429
            response["Retry-After"] = str(form.retry_after)
        return response

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context["next"] = self.get_next_url() or ""
        context.update(sign_in_context(self.request))
        return context

    def render_to_response(self, context: dict[str, Any], **kwargs: Any) -> HttpResponse:
        return with_sign_in_policy(self.request, super().render_to_response(context, **kwargs))


@require_http_methods(["GET", "POST"])
def register(request: HttpRequest) -> HttpResponse:
    """A new account with a password; with ``PASSWORD_LOGIN`` false the page offers the
    providers only and a POST is 403."""
    next_url = safe_next(request, default=reverse("archives:upload"))
    if request.user.is_authenticated:
        return redirect(next_url)
    form = RegisterForm(request.POST or None)
    if request.method == "POST" and settings.PASSWORD_LOGIN and form.is_valid():
        try:
            user = register_user(
                username=form.cleaned_data["username"],
                password=form.cleaned_data["password1"],
                email=form.cleaned_data["email"],
            )
        except ValidationError as exc:
            form.add_error("password1", exc)
        except UsernameTaken:
            form.add_error("username", _("This username is taken; choose another."))
        else:
            messages.success(
                request, _("Welcome, %(name)s! Your account is ready.") % {"name": user.username}
            )
            # allauth's signup flow logs the new user in (and runs its stages).
            return complete_signup(request, user, email_verification="none", success_url=next_url)
    if request.method == "POST" and not settings.PASSWORD_LOGIN:
        status = 403
    else:
        status = 400 if form.errors else 200
    context = {"form": form, "next": next_url, **sign_in_context(request)}
    response = render(request, "accounts/register.html", context, status=status)
    return with_sign_in_policy(request, response)


@require_http_methods(["GET", "POST"])
def provider_sign_in(request: HttpRequest, provider_id: str) -> HttpResponse:
    """allauth's start of a sign-in with a provider (GET asks to confirm, POST leads to the
    provider), each POST counted per address (``start_provider_sign_in``: 429 with
    Retry-After past the limit)."""
    if request.method == "POST":
        try:
            start_provider_sign_in(client=client_ip(request.META), now=timezone.now())
        except LoginThrottled as exc:
            response = render(request, "429.html", status=429)
            response["Retry-After"] = str(exc.retry_after)
            return response
    return with_sign_in_policy(request, allauth_oidc_views.login(request, provider_id))


@require_http_methods(["GET", "POST"])
def provider_callback(request: HttpRequest, provider_id: str) -> HttpResponse:
    """allauth's return from a provider (its openid_connect ``callback``), on our adapter,
    which keeps the discovery document (``accounts.oidc.OpenIDConnectAdapter``); a provider
    not in the settings is 404, as there."""
    try:
        view = OAuth2CallbackView.adapter_view(OpenIDConnectAdapter(request, provider_id))
        return view(request)
    except SocialApp.DoesNotExist as exc:
        raise Http404 from exc


@require_http_methods(["GET", "POST"])
def logout_view(request: HttpRequest) -> HttpResponse:
    """GET asks to confirm (a link cannot log anyone out); POST logs out."""
    next_url = safe_next(request, default=reverse("archives:home"))
    if request.method == "POST":
        logout(request)
        messages.info(request, _("You are logged out."))
        return redirect(next_url)
    return render(request, "accounts/logout.html", {"next": next_url})


@login_required
@require_http_methods(["GET", "POST"])
def api_keys(request: HttpRequest) -> HttpResponse:
    """The user's API keys and a form for a new one. A new key is shown in the answer to
    the POST that made it, and never again (the page is not redirected, so no copy of it
    is kept for a reload)."""
    user = authenticated_user(request)
    form = ApiKeyForm(request.POST or None)
    issued = None
    if request.method == "POST" and form.is_valid():
        now = timezone.now()
        issued = create_api_key(
            user,
            name=form.cleaned_data["name"],
            scopes=form.cleaned_data["scopes"],
            expires_at=form.expires_at(now=now),
            now=now,
        )
        form = ApiKeyForm()
    status = 400 if form.errors else 200
    context = {"form": form, "issued": issued, "keys": keys_of(user), "now": timezone.now()}
    response = render(request, "accounts/api_keys.html", context, status=status)
    # The new key is in this page only: no cache may keep it.
    add_never_cache_headers(response)
    return response


@login_required
@require_POST
def revoke_key(request: HttpRequest, key_id: str) -> HttpResponse:
    api_key = get_owned_key(authenticated_user(request), key_id)
    if api_key is None:
        raise Http404
    revoke_api_key(api_key, now=timezone.now())
    messages.success(request, _("The key “%(name)s” is revoked.") % {"name": api_key.name})
    return redirect("accounts:keys")
