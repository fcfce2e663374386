"""Where a share is reached from outside: the absolute URLs of the share page and of the
share download, for an archive's own slug and for each recipient link's, and the QR code
of such a URL.

The pages and the API answering them live in ``sharing``; the owner's pages and API name
them too, so the addresses are built here, by URL name, below both.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

import segno
from django.conf import settings
from django.urls import reverse

if TYPE_CHECKING:
    from django.http import HttpRequest


def absolute_url(path: str, *, request: HttpRequest | None = None) -> str:
    """``path`` on the host ``request`` came to, or on ``SITE_URL`` without a request (a
    task, a mail, a webhook)."""
    if request is not None:
        return request.build_absolute_uri(path)
    return f"{settings.SITE_URL}{path}"


def share_url(slug: str, *, request: HttpRequest | None = None) -> str:
    """The share page that ``slug`` opens, as a recipient is given it."""
    return absolute_url(reverse("sharing:share", args=[slug]), request=request)


def share_download_url(slug: str, *, request: HttpRequest | None = None) -> str:
    """The share API's download of ``slug``."""
    return absolute_url(reverse("sharing-api:share-download", args=[slug]), request=request)


# Encoding a QR code took half the time of a share page (about 10 ms of 19); a link's
# code never changes, and the pages most viewed ask for the same few.
@functools.lru_cache(maxsize=4096)
def qr_svg(url: str) -> str:
    """The QR code of ``url`` as inline SVG: black on white whatever the colour mode, with
    the quiet zone scanners need, sized by CSS (class ``qr-code``). Kept for the 4096
    addresses used last in each process."""
    code = segno.make(url, error="m")
    return code.svg_inline(
        scale=1, border=4, dark="#000", light="#fff", omitsize=True, svgclass="qr-code"
    )
