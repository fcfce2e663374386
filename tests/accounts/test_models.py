"""A user's id: random, so the API's ids say nothing about how many users exist; a
username's one canonical form; the session hash, which the session generation changes."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import pytest

from accounts.models import User, canonical_username, new_user_id

if TYPE_CHECKING:
    from pytest_django.fixtures import Settings as DjangoSettings


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


def test_raising_the_session_generation_changes_the_session_hash() -> None:
    user = User(username="eve", password="pbkdf2_sha256$hash")
    first = user.get_session_auth_hash()

    user.session_generation = 1

    assert user.get_session_auth_hash() != first


def test_a_session_hash_of_a_raised_generation_survives_a_key_rotation(
    settings: DjangoSettings,
) -> None:
    user = User(username="eve", password="pbkdf2_sha256$hash", session_generation=3)
    before = user.get_session_auth_hash()

    settings.SECRET_KEY_FALLBACKS = [settings.SECRET_KEY]
    settings.SECRET_KEY = "a new secret key, long enough to be taken for a real one"

    assert user.get_session_auth_hash() != before
    assert before in list(user.get_session_auth_fallback_hash())
