from __future__ import annotations

import secrets
import unicodedata
from typing import TYPE_CHECKING

from django.contrib.auth.models import AbstractUser, UserManager
from django.db import models

if TYPE_CHECKING:
    from collections.abc import Iterator
    from datetime import datetime
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

    # Bytes this user may store; None: USER_QUOTA_BYTES (``accounts.quotas.quota_of``).
    quota_bytes = models.PositiveBigIntegerField(
        null=True,
        blank=True,
        help_text="Bytes this user may store; empty for the default (USER_QUOTA_BYTES).",
    )

    # Raised to sign the user out of their other sessions
    # (``accounts.services.end_other_sessions``): part of the hash each session keeps, as
    # the password is.
    session_generation = models.PositiveIntegerField(default=0, editable=False)

    def get_session_auth_hash(self) -> str:
        """Django's hash of the password, and the session generation once it was raised
        (generation 0 keeps the sessions begun before it existed)."""
        return self._with_generation(super().get_session_auth_hash())

    def get_session_auth_fallback_hash(self) -> Iterator[str]:
        """The same, under each of ``SECRET_KEY_FALLBACKS``."""
        for fallback in super().get_session_auth_fallback_hash():
            yield self._with_generation(fallback)

    def _with_generation(self, password_hash: str) -> str:
        if not self.session_generation:
            return password_hash
        return f"{password_hash}-{self.session_generation}"

    @classmethod
    def normalize_username(cls, username: Any) -> str:
        """Django's hook for every user it creates (``create_user``, the admin's forms)."""
        return canonical_username(str(username))


class ApiKeyQuerySet(models.QuerySet["ApiKey"]):
    def live(self, *, now: datetime) -> ApiKeyQuerySet:
        """Keys neither revoked nor expired at ``now``."""
        return self.filter(revoked_at__isnull=True).filter(
            models.Q(expires_at__isnull=True) | models.Q(expires_at__gt=now)
        )


class ApiKey(models.Model):
    """A named key of one user with scopes (``accounts.scopes.Scope``). Only the sha256
    of the key is kept; ``prefix``, its first characters, tells keys apart in lists."""

    id = models.CharField(primary_key=True, max_length=32, default=new_user_id, editable=False)
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_keys")
    name = models.CharField(max_length=100)
    scopes = models.JSONField(default=list)
    prefix = models.CharField(max_length=16)
    key_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = ApiKeyQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "id"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    def is_live(self, *, now: datetime) -> bool:
        return self.revoked_at is None and (self.expires_at is None or self.expires_at > now)
