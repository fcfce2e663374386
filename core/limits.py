"""The error of an upload over a limit, and the byte counts its messages quote."""

from __future__ import annotations


class LimitExceeded(Exception):
    """An upload is over a limit; ``str()`` says which and by how much."""

    def __init__(self, message: str, *, status_code: int = 413) -> None:
        super().__init__(message)
        self.status_code = status_code


def format_bytes(count: int) -> str:
    size = float(count)
    for unit in ("bytes", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{int(size)} {unit}" if unit == "bytes" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} TiB"
