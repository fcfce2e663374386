"""How django-allauth's sign-in flow fits this site: our throttled password check, our
rule for a safe ``next``, our reading of the client's address, our messages."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from allauth.account.adapter import DefaultAccountAdapter
from allauth.core import context
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme

from accounts.services import authenticate_user
from core.clients import client_ip

if TYPE_CHECKING:
    from django.contrib.auth.base_user import AbstractBaseUser
    from django.http import HttpRequest

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
