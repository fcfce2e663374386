from __future__ import annotations

from django.apps import AppConfig


class SharingConfig(AppConfig):
    """The public download path: share lookup, download rules, counting and sending. Its
    rows (Archive, Link, Download) stay in ``archives``, the app it sits above."""

    name = "sharing"
