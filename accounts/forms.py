"""Forms of the account pages: register, log in, the second factor, API keys."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any

from allauth.account import forms as allauth_forms
from allauth.core import context
from allauth.mfa.adapter import get_adapter
from allauth.mfa.base.forms import AuthenticateForm
from django import forms
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.password_validation import password_validators_help_text_html
from django.contrib.auth.validators import UnicodeUsernameValidator
from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from accounts.scopes import Scope
from accounts.services import LoginThrottled, PasswordLoginOff, authenticate_user
from accounts.two_factor import (
    CodeThrottled,
    claim_code,
    forget_code_failures,
    has_second_factor,
    reserve_code_attempt,
)
from core.clients import client_ip
from core.forms import StyledFormMixin

if TYPE_CHECKING:
    from datetime import datetime

    from django.contrib.auth.base_user import AbstractBaseUser


def throttled_message(retry_after: int) -> str:
    """What a refused login says: when to try again, in whole minutes."""
    minutes = max(1, -(-retry_after // 60))
    return ngettext(
        "Too many failed logins. Try again in %(minutes)d minute.",
        "Too many failed logins. Try again in %(minutes)d minutes.",
        minutes,
    ) % {"minutes": minutes}


def password_login_off_error() -> ValidationError:
    return ValidationError(
        _("Passwords do not sign in here; sign in with your organisation's account."),
        code="password_login_off",
    )


class ThrottledAuthenticationForm(AuthenticationForm):
    """Django's login form, checked by ``authenticate_user`` so failed logins are
    throttled the same for the login page, the admin's and the API."""

    retry_after: int | None = None

    def clean(self) -> dict[str, Any]:
        username = self.cleaned_data.get("username")
        password = self.cleaned_data.get("password")
        if username is None or not password or self.request is None:
            return self.cleaned_data
        try:
            self.user_cache = authenticate_user(
                self.request,
                username=username,
                password=password,
                client=client_ip(self.request.META),
                now=timezone.now(),
            )
        except LoginThrottled as exc:
            self.retry_after = exc.retry_after
            raise ValidationError(throttled_message(exc.retry_after), code="throttled") from exc
        except PasswordLoginOff as exc:
            raise password_login_off_error() from exc
        if self.user_cache is None:
            raise self.get_invalid_login_error()
        self.confirm_login_allowed(self.user_cache)
        return self.cleaned_data


class LoginForm(StyledFormMixin, allauth_forms.LoginForm):
    """The login page's form, checked in django-allauth's flow (so its stages, such as
    a second factor, follow) by the adapter's ``authenticate``: the throttled
    ``authenticate_user``. ``retry_after`` is set when it refused for too many failures."""

    retry_after: int | None = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            field.widget.attrs.pop("placeholder", None)
        self.fields["login"].widget.attrs["autofocus"] = True
        # No "forgot your password?" link: most accounts have no e-mail to reset it by.
        self.fields["password"].help_text = ""
        self.style_widgets()

    def clean(self) -> dict[str, Any]:
        try:
            return super().clean() or {}
        except LoginThrottled as exc:
            self.retry_after = exc.retry_after
            raise ValidationError(throttled_message(exc.retry_after), code="throttled") from exc
        except PasswordLoginOff as exc:
            raise password_login_off_error() from exc


class AdminLoginForm(ThrottledAuthenticationForm, AdminAuthenticationForm):
    """The admin's login form: the same throttled check, then the admin's staff rule. It
    asks for no second factor, so an account with one is sent to the site's sign-in,
    which does (signed in there, staff open the admin directly)."""

    def confirm_login_allowed(self, user: AbstractBaseUser) -> None:
        super().confirm_login_allowed(user)
        if has_second_factor(user):
            raise ValidationError(
                _(
                    "This account has two-factor authentication: log in on the site's "
                    "login page, then open the admin."
                ),
                code="second_factor",
            )


class SecondFactorForm(StyledFormMixin, AuthenticateForm):
    """A code of the authenticator app, or a recovery code (each works once): the sign-in
    prompt's form (``MFA_FORMS``) and the token endpoint's check. Codes are counted like
    passwords (``accounts.two_factor.reserve_code_attempt``) before allauth checks them,
    and a right one is claimed in the database (``claim_code``) so it works once on every
    process; ``retry_after`` is set when it refused for too many wrong ones."""

    retry_after: int | None = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["code"].label = _("Code of the app, or a recovery code")
        self.fields["code"].widget.attrs.update({"inputmode": "numeric", "autofocus": True})
        self.fields["code"].widget.attrs.pop("placeholder", None)
        self.style_widgets()

    def clean_code(self) -> str:
        request = context.request
        if request is None:
            raise ImproperlyConfigured("allauth's AccountMiddleware must be installed.")
        client = client_ip(request.META)
        now = timezone.now()
        try:
            reserve_code_attempt(self.user, client=client, now=now)
        except CodeThrottled as exc:
            self.retry_after = exc.retry_after
            raise ValidationError(throttled_message(exc.retry_after), code="throttled") from exc
        code = super().clean_code()
        if not claim_code(self.user, code, now=now):
            raise get_adapter().validation_error("incorrect_code")
        forget_code_failures(self.user, client=client)
        return code


class RegisterForm(StyledFormMixin):
    username = forms.CharField(
        label=_("Username"),
        max_length=150,
        validators=[UnicodeUsernameValidator()],
        help_text=_("Letters, digits and @ . + - _ only."),
        widget=forms.TextInput(attrs={"autocomplete": "username", "autofocus": True}),
    )
    email = forms.EmailField(
        label=_("E-mail (optional)"),
        required=False,
        help_text=_("Kept private; no mail is sent to it without your asking."),
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )
    password1 = forms.CharField(
        label=_("Password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )
    password2 = forms.CharField(
        label=_("Password again"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=_("The same password, to catch a typo."),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["password1"].help_text = password_validators_help_text_html()
        self.style_widgets()

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        first, second = data.get("password1"), data.get("password2")
        if first and second and first != second:
            self.add_error("password2", _("The two passwords differ."))
        return data


class ApiKeyForm(StyledFormMixin):
    """The API keys page's form: name, scopes, and a lifetime from now."""

    LIFETIMES = (
        ("", _("Never")),
        ("7", _("In 7 days")),
        ("30", _("In 30 days")),
        ("90", _("In 90 days")),
        ("365", _("In a year")),
    )

    name = forms.CharField(
        label=_("Name"),
        max_length=100,
        help_text=_("What the key is for, to tell it from the others."),
    )
    scopes = forms.MultipleChoiceField(
        label=_("Scopes"),
        choices=Scope.choices,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("What the key may do; it never does more than you may."),
    )
    lifetime = forms.ChoiceField(label=_("Expires"), choices=LIFETIMES, required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.style_widgets()
        self.fields["scopes"].widget.attrs["class"] = "form-check-input"

    def expires_at(self, *, now: datetime) -> datetime | None:
        days = self.cleaned_data.get("lifetime")
        return now + timedelta(days=int(days)) if days else None
