"""Sniffing a member's first bytes: content decides, never the name."""

from __future__ import annotations

import wave
from io import BytesIO

import pytest

from archives.zipping.sniffing import SNIFF_BYTES, Sniffed, sniff

PNG = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR"
# The first bytes of the WebM (VP8) Chromium's MediaRecorder writes.
RECORDED_WEBM = (
    b"\x1aE\xdf\xa3\x9fB\x86\x81\x01B\xf7\x81\x01B\xf2\x81\x04B\xf3\x81\x08B\x82\x84webm"
    b"B\x87\x81\x04B\x85\x81\x02\x18S\x80g\x01\xff\xff\xff\xff\xff\xff\xff"
)


def wav_file() -> bytes:
    """A short WAV as Python's wave module writes it."""
    out = BytesIO()
    with wave.open(out, "wb") as sound:
        sound.setnchannels(1)
        sound.setsampwidth(2)
        sound.setframerate(8000)
        sound.writeframes(b"\0\1" * 800)
    return out.getvalue()


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        (PNG, Sniffed("image", "image/png")),
        (b"\xff\xd8\xff\xe0\0\x10JFIF", Sniffed("image", "image/jpeg")),
        (b"GIF89a\x01\0\x01\0", Sniffed("image", "image/gif")),
        (b"RIFF\0\0\0\0WEBPVP8 ", Sniffed("image", "image/webp")),
        (b"RIFF\0\0\0\0WAVEfmt ", Sniffed("audio", "audio/wav")),
        (wav_file(), Sniffed("audio", "audio/wav")),
        (RECORDED_WEBM, Sniffed("video", "video/webm")),
        (b"ID3\x04\0\0\0\0\0\0", Sniffed("audio", "audio/mpeg")),
        (b"\xff\xfb\x90\x64\0\0", Sniffed("audio", "audio/mpeg")),
        (b"OggS\0\x02", Sniffed("audio", "audio/ogg")),
        (b"fLaC\0\0\0\x22", Sniffed("audio", "audio/flac")),
        (b"\0\0\0\x20ftypM4A \0\0\0\0", Sniffed("audio", "audio/mp4")),
        (b"\0\0\0\x20ftypisom\0\0\x02\0", Sniffed("video", "video/mp4")),
        (b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01\x42\x82\x84webm", Sniffed("video", "video/webm")),
        (b"%PDF-1.7\n", Sniffed("pdf", "application/pdf")),
        ("Привет, мир\n".encode(), Sniffed("text", "text/plain; charset=utf-8")),
    ],
)
def test_signatures_and_text(head: bytes, expected: Sniffed) -> None:
    assert sniff(head) == expected


@pytest.mark.parametrize(
    "head",
    [
        b"",
        b"<!DOCTYPE html><script>alert(1)</script>",
        b"  <html><body>x</body></html>",
        b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
        b'<?xml version="1.0"?><svg/>',
        b"text\0with a NUL",
        b"\x80\x81 not utf-8 at all",
        b"\xff\xff\xff\xff random bytes",
        b"\x1a\x45\xdf\xa3\x42\x82\x88matroska",
    ],
)
def test_download_only(head: bytes) -> None:
    assert sniff(head) is None


def test_a_character_cut_by_the_window_is_still_text() -> None:
    head = ("я" * SNIFF_BYTES).encode()[: SNIFF_BYTES - 1]

    assert sniff(head) == Sniffed("text", "text/plain; charset=utf-8")
    # The whole member ending mid-character is not UTF-8.
    assert sniff(head, whole=True) is None


def test_text_holding_a_script_later_is_text() -> None:
    # Shown escaped in the page and sent as text/plain: the script never runs.
    assert sniff(b"notes\n<script>alert(1)</script>") == Sniffed(
        "text", "text/plain; charset=utf-8"
    )
