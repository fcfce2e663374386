"""Sign-in with OpenID Connect providers (``OIDC_PROVIDERS``), on django-allauth's
openid_connect provider: what it leaves to us.

allauth checks the state (kept in the session), PKCE (S256) and the id_token's issuer,
audience and expiry. It sends no nonce and compares no ``sub`` of the userinfo answer to
the id_token's: both are done here, with the allowed e-mail domains of a provider and the
username a new user gets. allauth fetches a provider's discovery document at each step of
every sign-in; it is kept here in Django's cache for a while.
"""

from __future__ import annotations

import enum
import hashlib
import re
import secrets
from functools import cached_property
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from allauth.socialaccount.providers.openid_connect import provider as allauth_oidc
from allauth.socialaccount.providers.openid_connect import views as allauth_oidc_views
from django.core.cache import cache

from accounts.models import canonical_username
from core.security import content_security_policy

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator

    from allauth.socialaccount.models import SocialApp, SocialLogin
    from django.http import HttpRequest, HttpResponse

# What a username may hold (Django's UnicodeUsernameValidator) and its length.
_NOT_IN_USERNAME = re.compile(r"[^\w.@+-]+")
_USERNAME_MAX = 150

# How long a provider's discovery document is kept: it names the endpoints, which a
# provider seldom moves; a change is followed within this time.
DISCOVERY_CACHE_SECONDS = 3600


class OpenIDConnectAdapter(allauth_oidc_views.OpenIDConnectOAuth2Adapter):
    """allauth's exchange with a provider, which fetches the provider's discovery document
    (``/.well-known/openid-configuration``) anew for each request of a sign-in (its start
    and its return); here the document is kept in Django's cache, shared by every process,
    for ``DISCOVERY_CACHE_SECONDS``. The sign-in start (``OpenIDConnectProvider``) and the
    return (``accounts.views.provider_callback``) both use it."""

    @cached_property
    def openid_config(self) -> dict[str, Any]:
        source = f"{self.provider_id} {self.get_provider().server_url}"
        key = "oidc-discovery:" + hashlib.sha256(source.encode()).hexdigest()
        config = cache.get(key)
        if config is None:
            config = super().openid_config
            cache.set(key, config, timeout=DISCOVERY_CACHE_SECONDS)
        return config


class OpenIDConnectProvider(allauth_oidc.OpenIDConnectProvider):
    """allauth's provider (``SOCIALACCOUNT_PROVIDERS[...]["provider_class"]``), sending a
    fresh nonce with each authorization request and keeping it in the sign-in's state.

    The request's own ``auth_params`` and ``scope`` (which allauth would add from the
    query string) are not taken: a link made by someone else could otherwise ask the
    provider for another ``redirect_uri`` or more scopes."""

    # allauth finds a provider's URLs and views by its package: they stay allauth's.
    package = "allauth.socialaccount.providers.openid_connect"
    oauth2_adapter_class = OpenIDConnectAdapter

    def redirect(
        self,
        request: HttpRequest,
        process: Any,
        next_url: str | None = None,
        data: Any = None,
        **kwargs: Any,
    ) -> HttpResponse:
        nonce = secrets.token_urlsafe(32)
        kwargs.pop("auth_params", None)
        kwargs["scope"] = self.get_scope()
        auth_params = {**self.get_auth_params(), "nonce": nonce}
        return super().redirect(
            request, process, next_url, data, auth_params=auth_params, nonce=nonce, **kwargs
        )


class Refusal(enum.Enum):
    """Why a sign-in that the provider accepted is refused here."""

    NONCE = "nonce"
    SUBJECT = "subject"
    DOMAIN = "domain"


def check_sign_in(sociallogin: SocialLogin, *, allowed_domains: list[str]) -> Refusal | None:
    """None when the provider's answer may sign in, else why not: the id_token carries
    another nonce than the one this sign-in sent, the userinfo answer speaks of another
    subject than the id_token, or ``allowed_domains`` is not empty and the e-mail is
    missing, unverified by the provider or of another domain."""
    claims = sociallogin.account.extra_data
    id_token = claims.get("id_token") or {}
    expected = str(sociallogin.state.get("nonce") or "")
    if not expected or not secrets.compare_digest(str(id_token.get("nonce") or ""), expected):
        return Refusal.NONCE
    userinfo = claims.get("userinfo")
    if userinfo is not None and userinfo.get("sub") != id_token.get("sub"):
        return Refusal.SUBJECT
    if allowed_domains and not any(
        address.verified and email_domain(address.email) in allowed_domains
        for address in sociallogin.email_addresses
    ):
        return Refusal.DOMAIN
    return None


def email_domain(email: str) -> str:
    return email.rpartition("@")[2].lower()


def allowed_domains_of(app: SocialApp) -> list[str]:
    return list(app.settings.get("allowed_domains") or [])


def provider_claims(sociallogin: SocialLogin) -> dict[str, Any]:
    """The claims about the user: the userinfo answer, else the id_token's."""
    data = sociallogin.account.extra_data
    return dict(data.get("userinfo") or data.get("id_token") or {})


def username_candidates(claims: dict[str, Any]) -> Iterator[str]:
    """Usernames for a new user, best first: from ``preferred_username``, else the
    e-mail's local part, else ``name``, else ``user``, in the canonical form and with only
    the characters a username may hold; then the same with ``-2``, ``-3``... (100 in all).
    Never another user's by design: the caller takes the first one free."""
    email = str(claims.get("email") or "")
    wanted = (claims.get("preferred_username"), email.partition("@")[0], claims.get("name"))
    base = "user"
    for raw in wanted:
        cleaned = _NOT_IN_USERNAME.sub("-", canonical_username(str(raw or ""))).strip("-.")
        if cleaned:
            base = cleaned[: _USERNAME_MAX - 4]
            break
    yield base
    for number in range(2, 101):
        yield f"{base}-{number}"


def form_action_sources(issuers: Iterable[str]) -> str:
    """The CSP form-action of the pages that post to a provider's sign-in: this site and
    the providers' origins (the sign-in answers that post with a redirect to them)."""
    origins = sorted({_origin(issuer) for issuer in issuers})
    return " ".join(["'self'", *origins])


def sign_in_policy(apps: Iterable[SocialApp]) -> str:
    """The pages' Content-Security-Policy, letting their forms lead to the providers."""
    issuers = [app.settings["server_url"] for app in apps]
    return content_security_policy(form_action=form_action_sources(issuers))


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"
