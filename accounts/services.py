"""Accounts: registration and API tokens."""

from __future__ import annotations

from django.contrib.auth.password_validation import validate_password
from django.db import IntegrityError, transaction
from rest_framework.authtoken.models import Token

from accounts.models import User


class UsernameTaken(Exception):
    """Someone registered that username first."""


def register_user(*, username: str, password: str) -> User:
    """Create a user after Django's password validators agree.

    Raises ``ValidationError`` listing what is wrong with the password and
    ``UsernameTaken`` when the name is in use (also when a parallel request took it).
    """
    candidate = User(username=username)
    validate_password(password, user=candidate)
    if User.objects.filter(username__iexact=username).exists():
        raise UsernameTaken(username)
    candidate.set_password(password)
    try:
        with transaction.atomic():
            candidate.save()
    except IntegrityError as exc:
        raise UsernameTaken(username) from exc
    return candidate


def issue_token(user: User) -> str:
    """Return the user's API token, creating it on first use."""
    token, _ = Token.objects.get_or_create(user=user)
    return token.key
