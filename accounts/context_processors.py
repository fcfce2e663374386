"""What every page needs to know of sign-in."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.conf import settings

if TYPE_CHECKING:
    from django.http import HttpRequest


def sign_in(request: HttpRequest) -> dict[str, bool]:
    """``password_login``: whether passwords sign in and register here (the navbar's
    Register button, the login and register pages' forms)."""
    return {"password_login": settings.PASSWORD_LOGIN}
