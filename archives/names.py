"""Names of the members inside a ZIP: the one sanitiser every upload path goes through.

A name is safe when extracting it on Linux, macOS or Windows writes exactly one file under
the extraction folder: relative, no ``.`` or ``..`` segment, ``/`` as the only separator, no
control or bidirectional-override characters, no characters Windows refuses, no device
names, each segment at most 255 bytes of UTF-8, and unique ignoring case (the file systems
of macOS and Windows are case-insensitive).
"""

from __future__ import annotations

import re
import unicodedata
from pathlib import PurePosixPath

FALLBACK_NAME = "file"
MAX_SEGMENT_BYTES = 255
MAX_DEPTH = 32
_WINDOWS_FORBIDDEN = re.compile(r'[<>:"|?*]')
_DRIVE = re.compile(r"^[A-Za-z]:$")
_WINDOWS_DEVICES = {
    "CON",
    "PRN",
    "AUX",
    "NUL",
    *(f"COM{i}" for i in range(10)),
    *(f"LPT{i}" for i in range(10)),
}


def _clean_segment(segment: str) -> str:
    # Cc: control characters (NUL, newline, ESC...); Cf: format characters such as the
    # right-to-left override U+202E that makes "exe.txt" read as "txt.exe".
    kept = "".join(ch for ch in segment if unicodedata.category(ch) not in {"Cc", "Cf"})
    kept = _WINDOWS_FORBIDDEN.sub("_", kept)
    # Windows drops trailing dots and spaces, so "a." and "a" would collide there.
    kept = kept.strip().rstrip(". ")
    if kept in {"", ".", ".."}:
        return ""
    if kept.split(".")[0].upper() in _WINDOWS_DEVICES:
        kept = f"_{kept}"
    return _truncate(kept, MAX_SEGMENT_BYTES)


def _truncate(segment: str, limit: int) -> str:
    """Cut ``segment`` to ``limit`` bytes of UTF-8, keeping a short extension."""
    if len(segment.encode()) <= limit:
        return segment
    suffix = PurePosixPath(segment).suffix
    if len(suffix.encode()) > 16:
        suffix = ""
    stem = segment[: len(segment) - len(suffix)] if suffix else segment
    budget = limit - len(suffix.encode())
    stem = stem.encode()[:budget].decode(errors="ignore").rstrip(". ")
    return f"{stem}{suffix}" if stem else _truncate(suffix.lstrip("."), limit)


def sanitize_name(raw: str) -> str:
    """Return a safe relative member name for ``raw``; never empty.

    Folders are kept (``a/b.txt``), each segment cleaned on its own; ``..``, ``.``, empty
    segments, leading slashes and drive letters are dropped.
    """
    text = unicodedata.normalize("NFC", raw).replace("\\", "/")
    segments = []
    for part in text.split("/"):
        if _DRIVE.match(part.strip()):
            continue
        cleaned = _clean_segment(part)
        if cleaned:
            segments.append(cleaned)
    segments = segments[-MAX_DEPTH:]
    return "/".join(segments) or FALLBACK_NAME


def _tagged(segment: str, number: int, *, keep_suffix: bool) -> str:
    """``segment`` with `` (number)`` before its extension (files) or at its end."""
    path = PurePosixPath(segment)
    suffix = path.suffix if keep_suffix and path.stem else ""
    stem = segment[: len(segment) - len(suffix)] if suffix else segment
    tag = f" ({number})"
    stem = _truncate(stem, MAX_SEGMENT_BYTES - len(tag.encode()) - len(suffix.encode()))
    return f"{stem}{tag}{suffix}"


def unique_names(raw_names: list[str]) -> list[str]:
    """Return safe names for ``raw_names``, in order, unique ignoring case.

    A repeated name gets `` (1)``, `` (2)``... before its extension. A name that is the
    folder of an earlier member is numbered the same way, and a folder that is the name
    of an earlier file gets the number on the folder, since neither pair could be
    extracted side by side.
    """
    files: set[str] = set()
    folders: set[str] = set()
    result = []
    for raw in raw_names:
        parts = sanitize_name(raw).split("/")
        for depth in range(len(parts) - 1):
            parts[depth] = _free_segment(parts, depth, taken=(files,), keep_suffix=False)
        parts[-1] = _free_segment(parts, len(parts) - 1, taken=(files, folders), keep_suffix=True)
        name = "/".join(parts)
        files.add(name.casefold())
        keys = name.casefold().split("/")
        folders.update("/".join(keys[:depth]) for depth in range(1, len(keys)))
        result.append(name)
    return result


def _free_segment(
    parts: list[str], depth: int, *, taken: tuple[set[str], ...], keep_suffix: bool
) -> str:
    """The segment at ``depth``, numbered until its path is in none of the ``taken``
    sets (looked up one by one: a union would copy them for every name)."""
    prefix = "/".join(parts[:depth])
    segment, number = parts[depth], 0
    while any(f"{prefix}/{segment}".lstrip("/").casefold() in keys for keys in taken):
        number += 1
        segment = _tagged(parts[depth], number, keep_suffix=keep_suffix)
    return segment


# Control and format characters (Unicode categories Cc and Cf, Unicode 14, in the Basic
# Multilingual Plane: patterns of the API schema cannot name others), and white space:
# written out so the API schema can state the same rule as a pattern.
CONTROL_CHARACTERS = (
    "\x00-\x1f\x7f-\x9f\xad\u0600-\u0605\u061c\u06dd\u070f\u0890-\u0891"
    "\u08e2\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u206f\ufeff"
    "\ufff9-\ufffb"
)
SPACE_CHARACTERS = "\x20\xa0\u1680\u2000-\u200a\u2028-\u2029\u202f\u205f\u3000"
NAME_MESSAGE = "Give the archive a name with at least one letter or digit."
# An archive name must hold at least one character that is none of these.
READABLE_CHARACTER = f"[^{CONTROL_CHARACTERS}{SPACE_CHARACTERS}./\\\\]"
_CONTROL = re.compile(f"[{CONTROL_CHARACTERS}]")
_READABLE = re.compile(READABLE_CHARACTER)


class BadArchiveName(ValueError):
    """An archive name that would leave nothing readable."""


def clean_archive_name(raw: str) -> str:
    """The archive's name as shown and used for ``<name>.zip``: control and format
    characters removed, trimmed. Raises ``BadArchiveName`` when it holds no character
    but spaces, dots and slashes."""
    if not _READABLE.search(raw):
        raise BadArchiveName(NAME_MESSAGE)
    return _CONTROL.sub("", raw).strip()


MAX_ORIGINAL_NAME = 1024


def recordable_original(raw: str) -> str:
    """The name a file was uploaded under, as any database can keep it (for messages
    about that file): NUL, which PostgreSQL's text refuses, becomes U+FFFD; at most
    ``MAX_ORIGINAL_NAME`` characters."""
    return raw.replace("\x00", "\ufffd")[:MAX_ORIGINAL_NAME]


def name_from_file(filename: str | None) -> str:
    """The default archive name: the first file's name without its extension."""
    stem = PurePosixPath((filename or "").replace("\\", "/")).stem.strip()
    try:
        return clean_archive_name(stem)[:200]
    except BadArchiveName:
        return "archive"
