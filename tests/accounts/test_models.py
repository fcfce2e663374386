"""A user's id: random, so the API's ids say nothing about how many users exist."""

from __future__ import annotations

import re

from accounts.models import new_user_id


def test_user_ids_are_22_url_safe_characters_and_differ() -> None:
    ids = {new_user_id() for _ in range(1000)}

    assert len(ids) == 1000
    assert all(re.fullmatch(r"[A-Za-z0-9_-]{22}", value) for value in ids)
