"""A user's uploads are checked against their quota one after another."""

from __future__ import annotations

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
