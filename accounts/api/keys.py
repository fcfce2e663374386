"""``/api/keys/``: the user's API keys. Managed with a session or the account token only:
these views declare no scope, so an API key cannot make, list or revoke keys."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.exceptions import NotFound
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.api.auth import authenticated_user
from accounts.api.serializers import (
    ApiKeyCreateSerializer,
    ApiKeySerializer,
    IssuedApiKeySerializer,
)
from accounts.keys import create_api_key, get_owned_key, keys_of, revoke_api_key

if TYPE_CHECKING:
    from rest_framework.request import Request


class ApiKeysView(APIView):
    @extend_schema(
        operation_id="keys_list",
        responses={200: ApiKeySerializer(many=True)},
        description="The keys not revoked, newest first; the keys themselves are never shown.",
    )
    def get(self, request: Request) -> Response:
        keys = keys_of(authenticated_user(request))
        return Response(ApiKeySerializer(keys, many=True).data)

    @extend_schema(
        operation_id="keys_create",
        request=ApiKeyCreateSerializer,
        responses={201: IssuedApiKeySerializer},
        description="A new key; `key` is in this answer only. Send it as "
        "`Authorization: Bearer <key>`.",
    )
    def post(self, request: Request) -> Response:
        serializer = ApiKeyCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        issued = create_api_key(
            authenticated_user(request), **serializer.validated_data, now=timezone.now()
        )
        body = {**ApiKeySerializer(issued.api_key).data, "key": issued.key}
        return Response(body, status=status.HTTP_201_CREATED)


class ApiKeyView(APIView):
    @extend_schema(
        operation_id="keys_destroy",
        responses={204: None},
        description="Revoke the key: requests sending it get 401 from now on.",
    )
    def delete(self, request: Request, pk: str) -> Response:
        api_key = get_owned_key(authenticated_user(request), pk)
        if api_key is None:
            raise NotFound("No such API key.")
        revoke_api_key(api_key, now=timezone.now())
        return Response(status=status.HTTP_204_NO_CONTENT)
