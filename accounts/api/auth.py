from __future__ import annotations

from typing import TYPE_CHECKING

from rest_framework.exceptions import NotAuthenticated

from accounts.models import User

if TYPE_CHECKING:
    from django.http import HttpRequest
    from rest_framework.request import Request


def authenticated_user(request: Request | HttpRequest) -> User:
    """The logged-in user of ``request``; ``NotAuthenticated`` (401) for anyone else."""
    user = request.user
    if not isinstance(user, User):
        raise NotAuthenticated
    return user
