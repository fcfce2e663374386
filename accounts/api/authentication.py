"""``Authorization: Bearer <key>``: a request authenticated by an API key."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.utils import timezone
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.exceptions import AuthenticationFailed, Throttled

from accounts.keys import KeyRefused, KeyThrottled, authenticate_key
from accounts.scopes import required_scope
from core.clients import client_ip

if TYPE_CHECKING:
    from typing import Any

    from drf_spectacular.openapi import AutoSchema
    from rest_framework.request import Request

    from accounts.models import ApiKey, User

KEYWORD = b"bearer"
SCHEME_NAME = "apiKey"


class ApiKeyAuthentication(BaseAuthentication):
    """The key's owner, with the key as ``request.auth`` (its scopes are checked by
    ``accounts.api.permissions.KeyScopePermission``). A request without a Bearer header
    is left to the other authentication classes."""

    def authenticate(self, request: Request) -> tuple[User, ApiKey] | None:
        parts = get_authorization_header(request).split()
        if not parts or parts[0].lower() != KEYWORD:
            return None
        if len(parts) != 2:
            raise AuthenticationFailed("Send one API key: Authorization: Bearer <key>.")
        try:
            key = parts[1].decode("ascii")
        except UnicodeDecodeError as exc:
            raise AuthenticationFailed("Invalid API key.") from exc
        try:
            api_key = authenticate_key(key, client=client_ip(request.META), now=timezone.now())
        except KeyThrottled as exc:
            raise Throttled(wait=exc.retry_after, detail="Too many wrong API keys.") from exc
        except KeyRefused as exc:
            raise AuthenticationFailed("Invalid, expired or revoked API key.") from exc
        return api_key.user, api_key

    def authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="api"'


class ApiKeyScheme(OpenApiAuthenticationExtension):
    target_class = ApiKeyAuthentication
    name = SCHEME_NAME

    def get_security_requirement(
        self, auto_schema: AutoSchema
    ) -> dict[str, list[Any]] | list[dict[str, list[Any]]]:
        # Listed only on operations that take keys (their view declares a scope).
        if required_scope(auto_schema.view, auto_schema.method) is None:
            return []
        return {SCHEME_NAME: []}

    def get_security_definition(self, auto_schema: AutoSchema) -> dict[str, Any]:
        return {
            "type": "http",
            "scheme": "bearer",
            "description": (
                "An API key from POST /api/keys/ (or the API keys page), sent as "
                "`Authorization: Bearer adk_...`. Each operation names the scope it needs "
                "(`x-api-key-scope`); a key without it gets 403 naming the scope. "
                "Operations that name none take no keys."
            ),
        }
