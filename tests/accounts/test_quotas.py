"""A user's uploads are checked against the quota one after another."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from django.db import transaction
from django.db.transaction import TransactionManagementError

from accounts.quotas import hold_quota

if TYPE_CHECKING:
    from accounts.models import User


@pytest.mark.django_db(transaction=True)
def test_the_quota_is_held_only_inside_a_transaction(user: User) -> None:
    # Held until the upload is stored: outside a transaction nothing would hold it.
    with pytest.raises(TransactionManagementError):
        hold_quota(user)
    with transaction.atomic():
        hold_quota(user)
