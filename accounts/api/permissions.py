from __future__ import annotations

from typing import TYPE_CHECKING

from rest_framework.exceptions import PermissionDenied
from rest_framework.permissions import BasePermission

from accounts.models import ApiKey
from accounts.scopes import required_scope
from accounts.two_factor import must_enrol

if TYPE_CHECKING:
    from rest_framework.request import Request
    from rest_framework.views import APIView


class KeyScopePermission(BasePermission):
    """A request authenticated by an API key needs the scope its view declares for the
    method (``accounts.scopes``); a view that declares none takes no keys. Sessions and
    account tokens pass: they are limited only by what the user owns."""

    def has_permission(self, request: Request, view: APIView) -> bool:
        api_key = request.auth
        if not isinstance(api_key, ApiKey):
            return True
        scope = required_scope(view, request.method or "")
        if scope is None:
            raise PermissionDenied(
                "API keys cannot be used here; sign in or use the account token."
            )
        if scope not in api_key.scopes:
            raise PermissionDenied(f"This key lacks the scope {scope}.")
        return True


class SecondFactorPermission(BasePermission):
    """While ``REQUIRE_TWO_FACTOR`` holds, a user without a second factor is refused the
    API whatever the credential (session, token or key) until they add one on the web."""

    message = (
        "This site requires two-factor authentication: sign in on the web and add an "
        "authenticator app or a passkey first."
    )

    def has_permission(self, request: Request, view: APIView) -> bool:
        return request.user is None or not must_enrol(request.user)
