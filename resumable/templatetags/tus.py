"""Template values of resumable uploads for the upload page's script."""

from __future__ import annotations

from django import template
from django.conf import settings

register = template.Library()


@register.simple_tag
def tus_chunk_bytes() -> int:
    """The most bytes the page sends in one PATCH (TUS_CHUNK_BYTES)."""
    return settings.TUS_CHUNK_BYTES
