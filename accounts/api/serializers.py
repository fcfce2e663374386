from __future__ import annotations

from typing import TYPE_CHECKING

from django.contrib.auth.validators import UnicodeUsernameValidator
from django.utils import timezone
from rest_framework import serializers

from accounts.models import canonical_username
from accounts.scopes import Scope
from core.serializers import StoredMaxLengthValidator, StrictSerializer

if TYPE_CHECKING:
    from datetime import datetime

# The username column's length, which the canonical form must fit.
USERNAME_MAX_LENGTH = 150


class CredentialsSerializer(StrictSerializer):
    # Not trimmed, so the pattern the schema shows is checked on the name as sent; the
    # length on its canonical form, the one stored (NFKC can make it longer or shorter).
    username = serializers.CharField(
        trim_whitespace=False,
        validators=[
            UnicodeUsernameValidator(),
            StoredMaxLengthValidator(USERNAME_MAX_LENGTH, normalise=canonical_username),
        ],
        help_text=(
            "Letters, digits and @.+-_; stored NFKC and case-folded, at most "
            f"{USERNAME_MAX_LENGTH} characters in that form."
        ),
    )
    password = serializers.CharField(max_length=128, trim_whitespace=False)


class TokenCredentialsSerializer(CredentialsSerializer):
    # Not trimmed: the check ignores spaces and dashes itself, and the limit is on the code as sent.
    otp = serializers.CharField(
        required=False,
        max_length=64,
        trim_whitespace=False,
        help_text=(
            "Required when the account has two-factor authentication: a current code of "
            "its authenticator app, or one of its recovery codes (each works once)."
        ),
    )


class UserSerializer(serializers.Serializer):
    id = serializers.CharField(read_only=True)
    username = serializers.CharField(read_only=True)


class TokenSerializer(serializers.Serializer):
    token = serializers.CharField(read_only=True)


class ApiKeyCreateSerializer(StrictSerializer):
    name = serializers.CharField(max_length=100)
    scopes = serializers.ListField(
        child=serializers.ChoiceField(choices=Scope.choices),
        allow_empty=False,
        max_length=len(Scope.choices),
        help_text="What the key may do; each endpoint names the scope it needs.",
    )
    expires_at = serializers.DateTimeField(
        required=False, allow_null=True, default=None, help_text="None: the key never expires."
    )

    def validate_expires_at(self, value: datetime | None) -> datetime | None:
        if value is not None and value <= timezone.now():
            raise serializers.ValidationError("Choose a time in the future.")
        return value

    def validate_scopes(self, value: list[str]) -> list[str]:
        if len(set(value)) != len(value):
            raise serializers.ValidationError("Name each scope once.")
        return value


class ApiKeySerializer(serializers.Serializer):
    id = serializers.CharField(read_only=True)
    name = serializers.CharField(read_only=True)
    scopes = serializers.ListField(child=serializers.ChoiceField(choices=Scope.choices))
    prefix = serializers.CharField(
        read_only=True, help_text="The key's first characters, to tell keys apart."
    )
    created_at = serializers.DateTimeField(read_only=True)
    expires_at = serializers.DateTimeField(read_only=True, allow_null=True)
    last_used_at = serializers.DateTimeField(
        read_only=True, allow_null=True, help_text="Recorded to the minute."
    )


class IssuedApiKeySerializer(ApiKeySerializer):
    key = serializers.CharField(
        read_only=True, help_text="The key itself: shown here once, and stored only hashed."
    )
