"""Names under the storage root: resolved, and refused when they would leave it."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

import pytest
from django.core.exceptions import SuspiciousFileOperation

from core import media

if TYPE_CHECKING:
    from pathlib import Path


def test_a_name_resolves_under_the_root() -> None:
    assert media.local_path("uploads/abc/00000") == media.root() / "uploads" / "abc" / "00000"


@pytest.mark.parametrize("name", ["../outside", "uploads/../../outside", "/etc/passwd", ""])
def test_names_that_leave_the_root_are_refused(name: str) -> None:
    with pytest.raises(SuspiciousFileOperation):
        media.local_path(name)


def test_open_folder_refuses_a_link(tmp_path: Path) -> None:
    real = tmp_path / "real"
    real.mkdir()
    link = tmp_path / "link"
    link.symlink_to(real)

    descriptor = media.open_folder(str(real))
    os.close(descriptor)
    with pytest.raises(OSError):
        media.open_folder(str(link))
