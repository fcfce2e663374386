"""A user's id: random, so the API's ids say nothing about how many users exist; a
username's one canonical form."""

from __future__ import annotations

import re

import pytest

from accounts.models import User, canonical_username, new_user_id


def test_user_ids_are_22_url_safe_characters_and_differ() -> None:
    ids = {new_user_id() for _ in range(1000)}

    assert len(ids) == 1000
    assert all(re.fullmatch(r"[A-Za-z0-9_-]{22}", value) for value in ids)


def test_canonical_username_is_nfkc_and_case_folded_in_python() -> None:
    assert canonical_username("\uff45\uff56\uff45") == "eve"
    assert canonical_username("\uff22\uff2f\uff22") == "bob"
    assert canonical_username("Straße") == "strasse"
    assert canonical_username("ÉMILE") == canonical_username("E\u0301mile") == "émile"


@pytest.mark.django_db
def test_every_user_django_creates_is_named_canonically_and_found_in_any_form() -> None:
    created = User.objects.create_user("\uff22\uff2f\uff22", password="x")

    assert created.username == "bob"
    assert User.objects.get_by_natural_key("\uff22\uff4f\uff42") == created
