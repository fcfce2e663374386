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
