from __future__ import annotations

from typing import TYPE_CHECKING

from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.exceptions import Throttled, ValidationError
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.api.serializers import CredentialsSerializer, TokenSerializer, UserSerializer
from accounts.services import (
    LoginThrottled,
    UsernameTaken,
    authenticate_user,
    issue_token,
    register_user,
)
from core.clients import client_ip

if TYPE_CHECKING:
    from rest_framework.request import Request


class RegisterView(APIView):
    permission_classes = [AllowAny]
    authentication_classes = []

    @extend_schema(request=CredentialsSerializer, responses={201: UserSerializer}, auth=[])
    def post(self, request: Request) -> Response:
        serializer = CredentialsSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            user = register_user(**serializer.validated_data)
        except DjangoValidationError as exc:
            raise ValidationError({"password": list(exc.messages)}) from exc
        except UsernameTaken as exc:
            raise ValidationError({"username": ["This username is taken."]}) from exc
        return Response(UserSerializer(user).data, status=status.HTTP_201_CREATED)


class TokenView(APIView):
    permission_classes = [AllowAny]
    authentication_classes = []

    @extend_schema(request=CredentialsSerializer, responses={200: TokenSerializer}, auth=[])
    def post(self, request: Request) -> Response:
        serializer = CredentialsSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            user = authenticate_user(
                request,
                **serializer.validated_data,
                client=client_ip(request.META),
                now=timezone.now(),
            )
        except LoginThrottled as exc:
            raise Throttled(wait=exc.retry_after, detail="Too many failed logins.") from exc
        if user is None:
            return Response(
                {"detail": "Wrong username or password."},
                status=status.HTTP_401_UNAUTHORIZED,
            )
        return Response({"token": issue_token(user)})
