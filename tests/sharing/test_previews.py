"""Previews of a share's files: the page, the raw bytes under DESIGN section 10's headers,
the thumbnails; views, never downloads; guarded like the download."""

from __future__ import annotations

from io import BytesIO
from typing import TYPE_CHECKING

import pytest
from PIL import Image

from tests.conftest import streamed_body

if TYPE_CHECKING:
    from collections.abc import Callable

    from django.test import Client

    from archives.models import Archive

pytestmark = pytest.mark.django_db


def png() -> bytes:
    out = BytesIO()
    Image.new("RGB", (400, 300), (0, 128, 255)).save(out, format="PNG")
    return out.getvalue()


HOSTILE_TEXT = b"notes\n<script>alert('text')</script>\n" + "ünïcode\n".encode() * 40_000
FILES = {
    "photo.png": png(),
    "notes.txt": HOSTILE_TEXT,
    "page.html": b"<!doctype html><script>alert(1)</script>",
    "x.png": b"<html><body><script>alert('x')</script></body></html>",
    "doc.pdf": b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n",
}


def page(archive: Archive, index: int, tail: str = "") -> str:
    return f"/s/{archive.slug}/files/{index}/{tail}"


@pytest.fixture
def archive(make_archive: Callable[..., Archive]) -> Archive:
    return make_archive(FILES, max_downloads=1)


def assert_safe_headers(response: object) -> None:
    headers = response.headers  # type: ignore[attr-defined]
    assert headers["Content-Security-Policy"].startswith("default-src 'none'; sandbox")
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Cross-Origin-Resource-Policy"] == "same-origin"


def test_raw_bytes_are_inline_only_for_the_allow_list(archive: Archive, client: Client) -> None:
    image = client.get(page(archive, 0, "raw"))
    assert (image["Content-Type"], image["Content-Disposition"]) == ("image/png", "inline")
    assert streamed_body(image) == FILES["photo.png"]
    text = client.get(page(archive, 1, "raw"), HTTP_RANGE="bytes=0-5")
    assert text.status_code == 206
    assert text["Content-Type"] == "text/plain; charset=utf-8"
    assert streamed_body(text) == b"notes\n"
    pdf = client.get(page(archive, 4, "raw"))
    assert pdf["Content-Type"] == "application/pdf"
    # PDF.js on the preview page fetches it; no page frames it.
    assert pdf["Content-Security-Policy"] == "default-src 'none'; sandbox"
    assert pdf["X-Frame-Options"] == "DENY"
    for response in (image, text, pdf):
        assert_safe_headers(response)
    # HTML, and HTML named x.png: no preview, no raw bytes.
    for index in (2, 3):
        assert client.get(page(archive, index, "raw")).status_code == 404
    archive.refresh_from_db()
    assert archive.download_count == 0


def test_the_text_preview_shows_the_start_escaped_and_counts_a_view(
    archive: Archive, client: Client
) -> None:
    response = client.get(page(archive, 1))

    html = response.content.decode()
    assert response.status_code == 200
    assert "&lt;script&gt;alert(&#x27;text&#x27;)&lt;/script&gt;" in html
    assert "<script>alert" not in html
    assert "The first 256 KiB are shown" in html
    shown = html.split('tabindex="0">', 1)[1].split("</pre>", 1)[0]
    assert 250_000 < len(shown.encode()) < 300_000
    archive.refresh_from_db()
    assert (archive.view_count, archive.download_count) == (1, 0)


def test_pages_of_each_kind(archive: Archive, client: Client) -> None:
    image = client.get(page(archive, 0)).content.decode()
    assert f'<img class="img-fluid" src="{page(archive, 0, "raw")}"' in image
    assert "worker-src 'none'" in client.get(page(archive, 0))["Content-Security-Policy"]
    pdf_page = client.get(page(archive, 4))
    pdf = pdf_page.content.decode()
    assert f'data-pdf-src="{page(archive, 4, "raw")}"' in pdf
    assert 'src="/static/js/pdf-preview.mjs"' in pdf
    assert "<iframe" not in pdf
    # The PDF page alone may run a worker, from this site; nothing may eval.
    policy = pdf_page["Content-Security-Policy"]
    assert "worker-src 'self'" in policy
    assert "script-src 'self';" in policy
    assert "unsafe" not in policy
    hostile = client.get(page(archive, 3)).content.decode()
    assert "This file has no preview" in hostile
    assert "/raw" not in hostile
    assert client.get(page(archive, 9)).status_code == 404


def test_the_share_page_lists_files_with_previews_thumbnails_and_downloads(
    archive: Archive, client: Client
) -> None:
    html = client.get(f"/s/{archive.slug}/").content.decode()

    for index in range(len(FILES)):
        assert f'href="{page(archive, index, "download")}"' in html
    assert f'href="{page(archive, 0)}"' in html
    assert f'href="{page(archive, 3)}"' not in html
    assert f'src="{page(archive, 0, "thumbnail.png")}"' in html
    # One image in five: a list, not a gallery.
    assert "data-file-gallery" not in html
    thumbnail = client.get(page(archive, 0, "thumbnail.png"))
    assert thumbnail["Content-Type"] == "image/png"
    assert Image.open(BytesIO(thumbnail.content)).size == (256, 192)
    assert_safe_headers(thumbnail)
    assert client.get(page(archive, 1, "thumbnail.png")).status_code == 404


def test_a_gallery_when_most_files_are_images(
    make_archive: Callable[..., Archive], client: Client
) -> None:
    archive = make_archive({"a.png": png(), "b.png": png(), "c.txt": b"text"})

    html = client.get(f"/s/{archive.slug}/").content.decode()

    assert "data-file-gallery" in html


def test_a_password_guards_previews_and_the_unlock_opens_them(
    make_archive: Callable[..., Archive], client: Client
) -> None:
    archive = make_archive(FILES, password="pw")

    assert client.get(page(archive, 0, "raw")).status_code == 401
    assert client.get(page(archive, 0, "thumbnail.png")).status_code == 401
    locked = client.get(page(archive, 1))
    assert "&lt;script&gt;" not in locked.content.decode()
    client.post(f"/s/{archive.slug}/unlock", {"password": "pw"})

    assert client.get(page(archive, 0, "raw")).status_code == 200
    assert "&lt;script&gt;" in client.get(page(archive, 1)).content.decode()


def test_previews_end_with_the_limit(archive: Archive, client: Client) -> None:
    streamed_body(client.get(f"/s/{archive.slug}/download"))

    assert client.get(page(archive, 0, "raw")).status_code == 410
    assert client.get(page(archive, 0)).status_code == 410
