"""The API's logged-in user: a user, or 401 for anyone else."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from django.contrib.auth.models import AnonymousUser
from django.test import RequestFactory
from rest_framework.exceptions import NotAuthenticated

from accounts.api.auth import authenticated_user

if TYPE_CHECKING:
    from accounts.models import User


@pytest.mark.django_db
def test_the_logged_in_user_is_returned(user: User) -> None:
    request = RequestFactory().get("/api/archives/")
    request.user = user

    assert authenticated_user(request) == user


def test_anyone_else_is_401() -> None:
    request = RequestFactory().get("/api/archives/")
    request.user = AnonymousUser()

    with pytest.raises(NotAuthenticated):
        authenticated_user(request)
