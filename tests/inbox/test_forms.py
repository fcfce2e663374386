"""The owner's new request form turns days and MiB into the service's seconds and bytes."""

from __future__ import annotations

from inbox.forms import DAY, MIB, RequestForm


def test_request_arguments_in_seconds_and_bytes() -> None:
    form = RequestForm(
        {"name": "Scans", "days": "2", "max_megabytes": "3", "archive_days": "1", "max_files": "4"}
    )

    assert form.is_valid(), form.errors
    arguments = form.request_arguments()
    assert arguments["ttl"] == 2 * DAY
    assert arguments["max_bytes"] == 3 * MIB
    assert arguments["archive_ttl"] == DAY
    assert arguments["max_files"] == 4
    assert arguments["max_submissions"] is None


def test_name_and_days_are_required() -> None:
    form = RequestForm({"days": "0"})

    assert not form.is_valid()
    assert set(form.errors) == {"name", "days"}
