from __future__ import annotations

import secrets
import unicodedata
from typing import TYPE_CHECKING

from django.contrib.auth.models import AbstractUser, UserManager
from django.db import models

if TYPE_CHECKING:
    from typing import Any


def new_user_id() -> str:
    """128 random bits: the id the API shows says nothing about how many users exist."""
    return secrets.token_urlsafe(16)


def canonical_username(raw: str) -> str:
    """The one form a username is stored and looked up in: NFKC, case-folded in Python
    (fullwidth ``eve`` and ``EVE`` are ``eve``), so two names that look alike cannot both exist
    and the database's own folding (ASCII only on SQLite) never decides a match."""
    # NFKC again after folding: casefold can leave a string that is not NFKC.
    return unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", raw).casefold())


class AccountManager(UserManager["User"]):
    def get_by_natural_key(self, username: Any) -> User:
        """The user of that name in any of its forms (what Django's login backend calls);
        raises ``User.DoesNotExist``."""
        return self.get(username=canonical_username(str(username)))


class User(AbstractUser):
    # AbstractUser declares an integer id; ours is a random string by design.
    id = models.CharField(  # pyrefly: ignore[bad-override-mutable-attribute]
        primary_key=True, max_length=32, default=new_user_id, editable=False
    )

    # The stubs type AbstractUser's manager as UserManager[Self]; this one is its subclass
    # for User, which the checker cannot match to Self.
    objects = AccountManager()  # pyrefly: ignore[bad-assignment]

    @classmethod
    def normalize_username(cls, username: Any) -> str:
        """Django's hook for every user it creates (``create_user``, the admin's forms)."""
        return canonical_username(str(username))
