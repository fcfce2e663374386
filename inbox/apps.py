from __future__ import annotations

from django.apps import AppConfig


class InboxConfig(AppConfig):
    """Upload requests: someone without an account sends files to an owner, and each
    submission becomes an archive of the owner's (DESIGN §11)."""

    name = "inbox"
