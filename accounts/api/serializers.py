from __future__ import annotations

from django.contrib.auth.validators import UnicodeUsernameValidator
from rest_framework import serializers

from accounts.models import canonical_username
from core.serializers import StoredMaxLengthValidator, StrictSerializer

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


class UserSerializer(serializers.Serializer):
    id = serializers.CharField(read_only=True)
    username = serializers.CharField(read_only=True)


class TokenSerializer(serializers.Serializer):
    token = serializers.CharField(read_only=True)
