"""Account pages: register, log in, log out (each returns to ``next`` when it is safe),
and the API keys page."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.contrib import messages
from django.contrib.auth import login, logout
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import add_never_cache_headers
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from accounts.api.auth import authenticated_user
from accounts.forms import ApiKeyForm, LoginForm, RegisterForm
from accounts.keys import create_api_key, get_owned_key, keys_of, revoke_api_key
from accounts.services import UsernameTaken, register_user

if TYPE_CHECKING:
    from django.contrib.auth.forms import AuthenticationForm
    from django.http import HttpRequest, HttpResponse


def safe_next(request: HttpRequest, *, default: str) -> str:
    """The ``next`` address of the request when it stays on this site, else ``default``."""
    target = request.POST.get("next") or request.GET.get("next") or ""
    is_safe = url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    )
    return target if target and is_safe else default


class LoginView(auth_views.LoginView):
    template_name = "accounts/login.html"
    authentication_form = LoginForm
    redirect_authenticated_user = True

    def form_invalid(self, form: AuthenticationForm) -> HttpResponse:
        response = super().form_invalid(form)
        retry_after = getattr(form, "retry_after", None)
        if retry_after is not None:
            response.status_code = 429
            response["Retry-After"] = str(retry_after)
        return response


@require_http_methods(["GET", "POST"])
def register(request: HttpRequest) -> HttpResponse:
    next_url = safe_next(request, default=reverse("archives:upload"))
    if request.user.is_authenticated:
        return redirect(next_url)
    form = RegisterForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            user = register_user(
                username=form.cleaned_data["username"], password=form.cleaned_data["password1"]
            )
        except ValidationError as exc:
            form.add_error("password1", exc)
        except UsernameTaken:
            form.add_error("username", _("This username is taken; choose another."))
        else:
            login(request, user, backend="django.contrib.auth.backends.ModelBackend")
            messages.success(
                request, _("Welcome, %(name)s! Your account is ready.") % {"name": user.username}
            )
            return redirect(next_url)
    status = 400 if form.errors else 200
    context = {"form": form, "next": next_url}
    return render(request, "accounts/register.html", context, status=status)


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
