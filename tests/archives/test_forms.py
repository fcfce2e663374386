"""The archive forms: what they preselect and what they hand to the services."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from archives.forms import CUSTOM, DAY, HOUR, UploadForm

if TYPE_CHECKING:
    from pytest_django.fixtures import Settings as DjangoSettings


@pytest.mark.parametrize(
    ("default", "initial"),
    [
        (7 * DAY, {"lifetime": str(7 * DAY)}),
        (HOUR, {"lifetime": str(HOUR)}),
        (3 * DAY, {"lifetime": CUSTOM, "custom_lifetime": 3, "custom_unit": str(DAY)}),
        (90 * 60, {"lifetime": CUSTOM, "custom_lifetime": 90, "custom_unit": "60"}),
        (150, {"lifetime": CUSTOM, "custom_lifetime": 2, "custom_unit": "60"}),
    ],
)
def test_upload_form_preselects_the_default_lifetime(
    settings: DjangoSettings, default: int, initial: dict[str, object]
) -> None:
    settings.ARCHIVE_DEFAULT_TTL = default

    form = UploadForm()

    assert {name: form[name].initial for name in initial} == initial
