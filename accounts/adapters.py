"""How django-allauth's sign-in flow fits this site: our throttled password check, our
rule for a safe ``next``, our reading of the client's address, our messages; and for
identity providers (accounts/oidc.py), who may sign in, which account they reach, and the
username a new account gets."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from allauth.account.adapter import DefaultAccountAdapter
from allauth.account.models import EmailAddress
from allauth.core import context
from allauth.core.exceptions import ImmediateHttpResponse
from allauth.socialaccount.adapter import DefaultSocialAccountAdapter
from allauth.socialaccount.providers.base.constants import AuthError
from django.db import IntegrityError, transaction
from django.shortcuts import render
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme

from accounts.models import User
from accounts.oidc import (
    Refusal,
    allowed_domains_of,
    check_sign_in,
    provider_claims,
    username_candidates,
)
from accounts.services import authenticate_user, finish_provider_sign_in
from core.clients import client_ip

if TYPE_CHECKING:
    from allauth.socialaccount.models import SocialLogin
    from django.contrib.auth.base_user import AbstractBaseUser
    from django.http import HttpRequest

logger = logging.getLogger(__name__)

# allauth's "Successfully signed in as ..." note: the pages never said it, and a new
# account gets its own welcome instead.
_UNSAID_MESSAGES = frozenset({"account/messages/logged_in.txt"})


def is_safe_redirect(request: HttpRequest, target: str) -> bool:
    """Whether ``target`` stays on this site: a path, or this request's own host (over
    HTTPS when the request came so)."""
    return bool(target) and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    )


class AccountAdapter(DefaultAccountAdapter):
    def authenticate(self, request: HttpRequest, **credentials: Any) -> AbstractBaseUser | None:
        """The user with this username and password, or None. Raises
        ``accounts.services.LoginThrottled`` after too many failures: the same count as
        the API's token and the admin's login (``authenticate_user``)."""
        return authenticate_user(
            request,
            username=str(credentials.get("username", "")),
            password=str(credentials.get("password", "")),
            client=client_ip(request.META),
            now=timezone.now(),
        )

    def is_safe_url(self, url: str) -> bool:
        request = context.request
        return request is not None and is_safe_redirect(request, url)

    def get_client_ip(self, request: HttpRequest) -> str:
        """The address allauth's rate limits count: the one ours count (``TRUSTED_PROXIES``)."""
        return client_ip(request.META)

    def add_message(
        self,
        request: HttpRequest,
        level: int,
        message_template: str | None = None,
        message_context: dict[str, Any] | None = None,
        extra_tags: str = "",
        message: str | None = None,
    ) -> None:
        if message_template in _UNSAID_MESSAGES:
            return
        super().add_message(
            request,
            level,
            message_template=message_template,
            message_context=message_context,
            extra_tags=extra_tags,
            message=message,
        )

    def is_reauthentication_required(self, *, app: str, **kwargs: Any) -> bool:
        """As allauth's, except that a user with no way to confirm it is them again (no
        password, no second factor yet: signed in by an identity provider) may still add a
        second factor; allauth would refuse them its pages for good (403)."""
        request = context.request
        user = request.user if request is not None else None
        if (
            app == "allauth.mfa"
            and user is not None
            and user.is_authenticated
            and not self.get_reauthentication_methods(user)
        ):
            return False
        return super().is_reauthentication_required(app=app, **kwargs)


class SocialAccountAdapter(DefaultSocialAccountAdapter):
    def authenticate_by_email(self, sociallogin: SocialLogin) -> tuple[User, str] | None:
        """The existing user to sign in as, found by an e-mail address only when both the
        provider (``email_verified``) and this site (a verified address) vouch for it: an
        address typed at registration, never verified, reaches nobody's account."""
        for address in sociallogin.email_addresses:
            if not address.verified:
                continue
            found = (
                EmailAddress.objects.filter(email__iexact=address.email, verified=True)
                .select_related("user")
                .first()
            )
            if found is not None:
                return found.user, found.email
        return None

    def pre_social_login(self, request: HttpRequest, sociallogin: SocialLogin) -> None:
        """Refuse what ``check_sign_in`` refuses, with a page that says why; a new user
        keeps only the e-mail addresses no other account has."""
        app = sociallogin.account.get_provider().app
        refusal = check_sign_in(sociallogin, allowed_domains=allowed_domains_of(app))
        if refusal is not None:
            logger.warning("Sign-in with %s refused: %s", app.provider_id, refusal.value)
            raise ImmediateHttpResponse(refused_page(request, app.name, refusal, sociallogin))
        finish_provider_sign_in(client=client_ip(request.META))
        if not sociallogin.is_existing:
            _drop_addresses_in_use(sociallogin)

    def on_authentication_error(
        self,
        request: HttpRequest,
        provider: Any,
        error: str | None = None,
        exception: BaseException | None = None,
        extra_context: dict[str, Any] | None = None,
    ) -> None:
        """A failed exchange with the provider (a wrong or spent state, a refused code, an
        id_token for someone else) answers 400 with the site's page; a sign-in cancelled
        at the provider goes back to allauth's page that says so."""
        if error == AuthError.CANCELLED:
            return
        logger.warning("Sign-in with %s failed: %s %r", provider.id, error, exception)
        page = {"provider_name": provider.name}
        raise ImmediateHttpResponse(
            render(request, "accounts/sign_in_failed.html", page, status=400)
        )

    def save_user(self, request: HttpRequest, sociallogin: SocialLogin, form: Any = None) -> User:
        """Create the new user of a first sign-in, under the first free name of
        ``username_candidates``: one a parallel sign-in took is passed over."""
        user = _user_of(sociallogin)
        user.set_unusable_password()
        for candidate in username_candidates(provider_claims(sociallogin)):
            if User.objects.filter(username=candidate).exists():
                continue
            user.username = candidate
            try:
                with transaction.atomic():
                    sociallogin.save(request)
            except IntegrityError:
                if User.objects.filter(username=candidate).exists():
                    continue
                raise
            return user
        raise ImmediateHttpResponse(
            refused_page(request, sociallogin.account.get_provider().name, None, sociallogin)
        )


def refused_page(
    request: HttpRequest, provider_name: str, refusal: Refusal | None, sociallogin: SocialLogin
) -> Any:
    """The page of a refused sign-in: 403 for an e-mail domain not allowed, else 400."""
    if refusal is Refusal.DOMAIN:
        app = sociallogin.account.get_provider().app
        context = {
            "provider_name": provider_name,
            "emails": [address.email for address in sociallogin.email_addresses],
            "domains": allowed_domains_of(app),
        }
        return render(request, "accounts/sign_in_refused.html", context, status=403)
    return render(
        request, "accounts/sign_in_failed.html", {"provider_name": provider_name}, status=400
    )


def _drop_addresses_in_use(sociallogin: SocialLogin) -> None:
    """Keep on a new user only the addresses no account has: one that another account
    has, unverified or not linkable, stays with that account alone."""
    kept = []
    for address in sociallogin.email_addresses:
        in_use = (
            EmailAddress.objects.filter(email__iexact=address.email).exists()
            or User.objects.filter(email__iexact=address.email).exists()
        )
        if not in_use:
            kept.append(address)
    sociallogin.email_addresses = kept
    user = _user_of(sociallogin)
    if user.email and all(address.email != user.email for address in kept):
        user.email = ""


def _user_of(sociallogin: SocialLogin) -> User:
    """The user a sign-in stands for (allauth types it as any user model)."""
    user = sociallogin.user
    if not isinstance(user, User):
        raise TypeError(f"a sign-in without a user of {User.__name__}: {user!r}")
    return user
