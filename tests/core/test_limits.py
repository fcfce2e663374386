"""Byte counts as limit messages quote them, and the limit error's status."""

from __future__ import annotations

import pytest

from core.limits import LimitExceeded, format_bytes


@pytest.mark.parametrize(
    ("count", "shown"),
    [
        (0, "0 bytes"),
        (1023, "1023 bytes"),
        (1024, "1.0 KiB"),
        (1536, "1.5 KiB"),
        (5 * 1024**2, "5.0 MiB"),
        (3 * 1024**3, "3.0 GiB"),
        # Past GiB the count stays in GiB: limits are quoted in one familiar unit.
        (2048 * 1024**3, "2048.0 GiB"),
    ],
)
def test_format_bytes_picks_the_largest_unit_under_1024(count: int, shown: str) -> None:
    assert format_bytes(count) == shown


def test_limit_exceeded_is_413_unless_told_and_says_why() -> None:
    assert LimitExceeded("too big").status_code == 413
    assert LimitExceeded("too many", status_code=429).status_code == 429
    assert str(LimitExceeded("too big")) == "too big"
