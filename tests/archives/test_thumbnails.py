"""Thumbnails of image members, read from the built ZIP."""

from __future__ import annotations

import zipfile
from io import BytesIO
from typing import TYPE_CHECKING

from PIL import Image

from archives.thumbnails import THUMBNAIL_SIZE, make_thumbnails

if TYPE_CHECKING:
    from pathlib import Path


def png(width: int, height: int) -> bytes:
    out = BytesIO()
    Image.new("RGB", (width, height), (200, 30, 30)).save(out, format="PNG")
    return out.getvalue()


def test_thumbnails_fit_the_box_and_skip_what_does_not_decode(tmp_path: Path) -> None:
    path = tmp_path / "a.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("wide.png", png(1200, 300))
        archive.writestr("fake.png", b"<html><script>alert(1)</script>")

    made = make_thumbnails(path, ["wide.png", "fake.png"])

    assert set(made) == {"wide.png"}
    thumbnail = Image.open(BytesIO(made["wide.png"]))
    assert thumbnail.format == "PNG"
    assert thumbnail.size == (THUMBNAIL_SIZE, THUMBNAIL_SIZE // 4)


def test_a_huge_image_gets_none(tmp_path: Path) -> None:
    path = tmp_path / "a.zip"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        # 9000 x 9000 pixels in a few KiB: a decompression bomb.
        archive.writestr("bomb.png", png(9000, 9000))

    assert make_thumbnails(path, ["bomb.png"]) == {}
