"""Unguessable identifiers for rows and links."""

from __future__ import annotations

import secrets


def new_token() -> str:
    """Return an unguessable URL-safe token of 144 random bits (24 characters)."""
    return secrets.token_urlsafe(18)
