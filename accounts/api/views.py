from __future__ import annotations

from typing import TYPE_CHECKING

from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils import timezone
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.exceptions import PermissionDenied, Throttled, ValidationError
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.api.permissions import SecondFactorPermission
from accounts.api.serializers import (
    CredentialsSerializer,
    TokenCredentialsSerializer,
    TokenSerializer,
    UserSerializer,
)
from accounts.forms import SecondFactorForm
from accounts.services import (
    LoginThrottled,
    PasswordLoginOff,
    UsernameTaken,
    authenticate_user,
    issue_token,
    register_user,
)
from accounts.two_factor import has_second_factor, must_enrol
from core.clients import client_ip
from core.serializers import ErrorSerializer

if TYPE_CHECKING:
    from rest_framework.request import Request

    from accounts.models import User


class RegisterView(APIView):
    permission_classes = [AllowAny]
    authentication_classes = []

    @extend_schema(
        request=CredentialsSerializer,
        responses={
            201: UserSerializer,
            403: OpenApiResponse(
                ErrorSerializer,
                description="Accounts are not made with a password here (PASSWORD_LOGIN=false).",
            ),
        },
        auth=[],
    )
    def post(self, request: Request) -> Response:
        serializer = CredentialsSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            user = register_user(**serializer.validated_data)
        except DjangoValidationError as exc:
            raise ValidationError({"password": list(exc.messages)}) from exc
        except UsernameTaken as exc:
            raise ValidationError({"username": ["This username is taken."]}) from exc
        except PasswordLoginOff as exc:
            raise PermissionDenied(
                "Registration with a password is turned off here; sign in on the site with "
                "your organisation's account."
            ) from exc
        return Response(UserSerializer(user).data, status=status.HTTP_201_CREATED)


OTP_REQUIRED = (
    "This account has two-factor authentication: send a current code of its "
    "authenticator app, or one of its recovery codes, as otp."
)


def second_factor_refusal(user: User, otp: str) -> Response | None:
    """Why ``user``, whose password was right, gets no token yet, or None: a right code
    when the account has a second factor (a wrong one counts as a failed login), and one
    added on the web first when the site requires it."""
    if must_enrol(user):
        return Response(
            {"detail": SecondFactorPermission.message}, status=status.HTTP_403_FORBIDDEN
        )
    if not has_second_factor(user):
        return None
    if not otp:
        return Response({"detail": OTP_REQUIRED}, status=status.HTTP_401_UNAUTHORIZED)
    form = SecondFactorForm(user=user, data={"code": otp})
    if form.is_valid():
        form.authenticator.record_usage()
        return None
    if form.retry_after is not None or form.has_error("code", "too_many_login_attempts"):
        raise Throttled(wait=form.retry_after, detail="Too many wrong codes.")
    return Response({"detail": "Wrong or used code."}, status=status.HTTP_401_UNAUTHORIZED)


class TokenView(APIView):
    permission_classes = [AllowAny]
    authentication_classes = []

    @extend_schema(
        request=TokenCredentialsSerializer,
        responses={
            200: TokenSerializer,
            401: OpenApiResponse(
                ErrorSerializer,
                description=(
                    "Wrong username or password; or the account has two-factor "
                    "authentication and otp is missing, wrong or already used."
                ),
            ),
            403: OpenApiResponse(
                ErrorSerializer,
                description=(
                    "The site requires two-factor authentication and the account has "
                    "none yet: add one on the web first. Or passwords do not sign in "
                    "here (PASSWORD_LOGIN=false): use an API key."
                ),
            ),
        },
        auth=[],
    )
    def post(self, request: Request) -> Response:
        serializer = TokenCredentialsSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        try:
            user = authenticate_user(
                request,
                username=data["username"],
                password=data["password"],
                client=client_ip(request.META),
                now=timezone.now(),
            )
        except LoginThrottled as exc:
            raise Throttled(wait=exc.retry_after, detail="Too many failed logins.") from exc
        except PasswordLoginOff as exc:
            raise PermissionDenied(
                "Password sign-in is turned off here: use an API key (made on the site's "
                "API keys page) as Authorization: Bearer <key>."
            ) from exc
        if user is None:
            return Response(
                {"detail": "Wrong username or password."},
                status=status.HTTP_401_UNAUTHORIZED,
            )
        refusal = second_factor_refusal(user, data.get("otp", ""))
        if refusal is not None:
            return refusal
        return Response({"token": issue_token(user)})
