from __future__ import annotations

from typing import TYPE_CHECKING

from django.contrib.auth import authenticate
from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.exceptions import ValidationError
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.api.serializers import CredentialsSerializer, TokenSerializer, UserSerializer
from accounts.models import User
from accounts.services import UsernameTaken, issue_token, register_user

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
        user = authenticate(request, **serializer.validated_data)
        if not isinstance(user, User):
            return Response(
                {"detail": "Wrong username or password."},
                status=status.HTTP_401_UNAUTHORIZED,
            )
        return Response({"token": issue_token(user)})
