"""What a member is, from its first bytes (DESIGN section 10): the preview it may have
and the media type its raw bytes are sent with.

Only content decides, never the name: a file named ``x.png`` holding HTML is not an
image. The allow-list is short on purpose: raster images browsers decode (PNG, JPEG,
GIF, WebP), audio and video they play (MP3, OGG, WAV, FLAC, M4A, MP4, WebM), PDF, and
UTF-8 text without NUL bytes. SVG, HTML and XML are text to this module only if nothing
marks them as markup; ``sniff`` refuses them (no preview), as they would run scripts if
a browser ever rendered them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

# The bytes of a member ``sniff`` looks at.
SNIFF_BYTES: Final = 4096

IMAGE: Final = "image"
TEXT: Final = "text"
AUDIO: Final = "audio"
VIDEO: Final = "video"
PDF: Final = "pdf"
PREVIEWS: Final = (IMAGE, TEXT, AUDIO, VIDEO, PDF)


@dataclass(frozen=True)
class Sniffed:
    """A member's preview kind (one of ``PREVIEWS``) and the media type of its bytes."""

    preview: str
    content_type: str


# Markup that a browser would render with scripts: such "text" gets no preview.
_MARKUP: Final = (b"<!doctype", b"<html", b"<svg", b"<?xml", b"<script", b"<head", b"<body")

# MP4 brands of audio-only files.
_AUDIO_BRANDS: Final = (b"M4A ", b"M4B ", b"M4P ")


def _is_mpeg_frame(head: bytes) -> bool:
    """An MPEG audio frame header: 11 sync bits, then a version and a layer that are not
    the reserved values."""
    if len(head) < 4 or head[0] != 0xFF or head[1] & 0xE0 != 0xE0:
        return False
    version, layer = (head[1] >> 3) & 3, (head[1] >> 1) & 3
    return version != 1 and layer != 0 and head[2] >> 4 != 15


def _signature(head: bytes) -> Sniffed | None:
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return Sniffed(IMAGE, "image/png")
    if head.startswith(b"\xff\xd8\xff"):
        return Sniffed(IMAGE, "image/jpeg")
    if head.startswith((b"GIF87a", b"GIF89a")):
        return Sniffed(IMAGE, "image/gif")
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return Sniffed(IMAGE, "image/webp")
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        return Sniffed(AUDIO, "audio/wav")
    if head.startswith(b"%PDF-"):
        return Sniffed(PDF, "application/pdf")
    if head.startswith(b"fLaC"):
        return Sniffed(AUDIO, "audio/flac")
    if head.startswith(b"OggS"):
        return Sniffed(AUDIO, "audio/ogg")
    if head.startswith(b"ID3") or _is_mpeg_frame(head):
        return Sniffed(AUDIO, "audio/mpeg")
    if head[4:8] == b"ftyp":
        if head[8:12] in _AUDIO_BRANDS:
            return Sniffed(AUDIO, "audio/mp4")
        return Sniffed(VIDEO, "video/mp4")
    if head.startswith(b"\x1a\x45\xdf\xa3") and b"webm" in head[:64]:
        return Sniffed(VIDEO, "video/webm")
    return None


def _is_text(head: bytes, *, whole: bool) -> bool:
    """UTF-8 without NULs; a multi-byte character cut at the end of ``head`` counts as
    text unless ``head`` is the whole member."""
    if b"\0" in head:
        return False
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        # A character cut by the sniffing window: the bytes before it are valid.
        if whole or exc.start < len(head) - 3 or exc.reason != "unexpected end of data":
            return False
    start = head.lstrip()[:64].lower()
    return not start.startswith(_MARKUP)


def sniff(head: bytes, *, whole: bool = False) -> Sniffed | None:
    """What the member starting with ``head`` (its first ``SNIFF_BYTES`` or fewer; all of
    it when ``whole``) may be previewed as, or None: download only. An empty member has
    nothing to preview."""
    if not head:
        return None
    found = _signature(head)
    if found is not None:
        return found
    if _is_text(head[:SNIFF_BYTES], whole=whole and len(head) <= SNIFF_BYTES):
        return Sniffed(TEXT, "text/plain; charset=utf-8")
    return None
