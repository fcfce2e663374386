from __future__ import annotations

import secrets

from django.contrib.auth.models import AbstractUser
from django.db import models


def new_user_id() -> str:
    """128 random bits: the id the API shows says nothing about how many users exist."""
    return secrets.token_urlsafe(16)


class User(AbstractUser):
    # AbstractUser declares an integer id; ours is a random string by design.
    id = models.CharField(  # pyrefly: ignore[bad-override-mutable-attribute]
        primary_key=True, max_length=32, default=new_user_id, editable=False
    )


class FailureWindow(models.Model):
    """Failed attempts of one kind (``scope``) from one source (``key``) in a time window:
    wrong share passwords per archive and client, failed logins per username and per IP.

    Kept in the database, not a cache, so the count is exact across processes and
    parallel requests.
    """

    scope = models.CharField(max_length=64)
    key = models.CharField(max_length=255)
    window_start = models.DateTimeField()
    failures = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["scope", "key"], name="failure_window_unique"),
        ]
        indexes = [models.Index(fields=["window_start"])]

    def __str__(self) -> str:
        return f"{self.scope} {self.key}: {self.failures}"
