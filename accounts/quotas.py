"""A user's quota: how much they may store (the default, or staff's override for them),
and their uploads checked against it one after another."""

from __future__ import annotations

from typing import NamedTuple

from django.conf import settings
from django.db import transaction

from accounts.models import User


def hold_quota(user: User) -> None:
    """Lock ``user``'s row until the current transaction ends, so that what their uploads
    hold is read, checked and added to by one request at a time: call it before reading
    the usage, inside the transaction that stores the upload.

    Raises ``TransactionManagementError`` outside a transaction. On PostgreSQL this is a
    row lock (``SELECT ... FOR UPDATE``); SQLite has none, and its immediate transactions
    take the database's write lock at BEGIN instead, so Django would not refuse the call
    outside a transaction there: this function does.
    """
    if transaction.get_autocommit():
        raise transaction.TransactionManagementError(
            "hold_quota runs inside the transaction that stores the upload"
        )
    User.objects.select_for_update().filter(pk=user.pk).values_list("pk").first()


class Quota(NamedTuple):
    limit: int
    # Where the limit comes from, for messages: the setting, or the user's own.
    source: str


def quota_of(user: User) -> Quota:
    """The bytes ``user`` may store: staff's override (``User.quota_bytes``) when set,
    otherwise ``USER_QUOTA_BYTES``."""
    if user.quota_bytes is not None:
        return Quota(user.quota_bytes, "set for your account")
    return Quota(settings.USER_QUOTA_BYTES, "USER_QUOTA_BYTES")
