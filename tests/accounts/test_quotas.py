"""A user's quota (the default or staff's override), and their uploads checked against
it one after another."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from django.db import transaction
from django.db.transaction import TransactionManagementError

from accounts.quotas import Quota, hold_quota, quota_of
from tests.factories import UserFactory

if TYPE_CHECKING:
    from pytest_django.fixtures import Settings as DjangoSettings

    from accounts.models import User


@pytest.mark.django_db(transaction=True)
def test_the_quota_is_held_only_inside_a_transaction(user: User) -> None:
    # Held until the upload is stored: outside a transaction nothing would hold it.
    with pytest.raises(TransactionManagementError):
        hold_quota(user)
    with transaction.atomic():
        hold_quota(user)


def test_the_default_quota_is_the_setting(settings: DjangoSettings) -> None:
    settings.USER_QUOTA_BYTES = 1234

    assert quota_of(UserFactory.build()) == Quota(1234, "USER_QUOTA_BYTES")


def test_staffs_override_replaces_the_default(settings: DjangoSettings) -> None:
    settings.USER_QUOTA_BYTES = 1234

    assert quota_of(UserFactory.build(quota_bytes=10)).limit == 10
    assert quota_of(UserFactory.build(quota_bytes=10**12)).limit == 10**12
