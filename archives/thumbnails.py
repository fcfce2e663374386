"""Thumbnails of the image members of a built ZIP, made by the worker (DESIGN section 10).

Each is a PNG at most ``THUMBNAIL_SIZE`` pixels on its longer side, made with Pillow from
the member as it lies in the ZIP (read through ``zipfile``, never extracted to disk). An
image Pillow cannot decode, or one larger than ``MAX_PIXELS`` (a decompression bomb),
gets none: the file list then shows its name only.
"""

from __future__ import annotations

import logging
import warnings
import zipfile
from io import BytesIO
from typing import TYPE_CHECKING, Final

from PIL import Image

if TYPE_CHECKING:
    from pathlib import Path

logger = logging.getLogger(__name__)

THUMBNAIL_SIZE: Final = 256
# Pixels of the largest image decoded for a thumbnail (a 8000 x 8000 photo).
MAX_PIXELS: Final = 64_000_000


def make_thumbnails(zip_path: Path, names: list[str]) -> dict[str, bytes]:
    """PNG thumbnails of the members ``names`` of the ZIP at ``zip_path``, by name; a
    member that cannot be made into one is left out."""
    thumbnails: dict[str, bytes] = {}
    if not names:
        return thumbnails
    with zipfile.ZipFile(zip_path) as archive:
        for name in names:
            made = thumbnail_of(archive, name)
            if made is not None:
                thumbnails[name] = made
    return thumbnails


def thumbnail_of(archive: zipfile.ZipFile, name: str) -> bytes | None:
    """The PNG thumbnail of the member ``name`` of the open ``archive``, or None."""
    try:
        with archive.open(name) as member, warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(member)
            width, height = image.size
            if width * height > MAX_PIXELS:
                return None
            image.thumbnail((THUMBNAIL_SIZE, THUMBNAIL_SIZE))
            if image.mode not in ("RGB", "RGBA", "L", "LA"):
                image = image.convert("RGBA")
            out = BytesIO()
            image.save(out, format="PNG", optimize=True)
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError, Warning) as exc:
        logger.info("no thumbnail for member %r: %s", name, exc)
        return None
    return out.getvalue()
