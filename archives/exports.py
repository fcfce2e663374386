"""The download log as CSV, with fixed columns."""

from __future__ import annotations

import csv
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from typing import Any

    from archives.models import Archive

DOWNLOAD_COLUMNS = [
    "at", "ip", "referer", "user_agent", "source", "recipient", "bytes_sent", "completed",
    "members",
]  # fmt: skip
# A cell starting with one of these is a formula to a spreadsheet; a leading quote keeps
# it text (OWASP "CSV injection").
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: object) -> str:
    text = "" if value is None else str(value)
    return f"'{text}" if text.startswith(_FORMULA_STARTS) else text


def write_downloads_csv(archive: Archive, out: Any) -> None:
    """Write the archive's download log, newest first, to the file-like ``out``."""
    writer = csv.writer(out)
    writer.writerow(DOWNLOAD_COLUMNS)
    for row in archive.downloads.select_related("link").iterator():
        writer.writerow(
            [
                _cell(row.at.isoformat()),
                _cell(row.ip),
                _cell(row.referer),
                _cell(row.user_agent),
                _cell(row.source),
                _cell(row.link.label if row.link else ""),
                row.bytes_sent,
                "yes" if row.completed else "no",
                # One cell: the files sent on the download's grant, one per line.
                _cell("\n".join(row.members)),
            ]
        )
