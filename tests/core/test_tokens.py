"""Tokens for rows and links: URL-safe, of a fixed length, never repeated."""

from __future__ import annotations

import re

from core.tokens import new_token


def test_tokens_are_24_url_safe_characters_and_differ() -> None:
    tokens = {new_token() for _ in range(1000)}

    assert len(tokens) == 1000
    assert all(re.fullmatch(r"[A-Za-z0-9_-]{24}", token) for token in tokens)
