"""The tasks beat runs: each calls its function with the current time and returns its
count; the schedule names each of them."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

import pytest
from celery import Task
from django.conf import settings

from archives import periodic

if TYPE_CHECKING:
    from collections.abc import Callable

    from pytest_django.fixtures import Settings as DjangoSettings


def recording(calls: list[dict[str, object]], result: object) -> Callable[..., object]:
    def call(**kwargs: object) -> object:
        calls.append(kwargs)
        return result

    return call


@pytest.mark.parametrize(
    ("task", "function"),
    [
        (periodic.purge_expired_task, "purge_expired"),
        (periodic.requeue_stalled_builds_task, "requeue_stalled_builds"),
        (periodic.purge_old_downloads_task, "purge_old_downloads"),
    ],
)
def test_each_task_calls_its_function_now_and_returns_the_count(
    monkeypatch: pytest.MonkeyPatch, task: Callable[[], int], function: str
) -> None:
    calls: list[dict[str, object]] = []
    monkeypatch.setattr(periodic, function, recording(calls, 3))

    assert task() == 3
    [call] = calls
    assert isinstance(call["now"], datetime)


def test_the_scrub_counts_the_damaged_archives_within_its_budget(
    monkeypatch: pytest.MonkeyPatch, settings: DjangoSettings
) -> None:
    settings.SCRUB_BYTES_PER_RUN = 12345
    calls: list[dict[str, object]] = []
    monkeypatch.setattr(periodic, "scrub_archives", recording(calls, ["a", "b"]))

    assert periodic.scrub_archives_task() == 2
    assert calls[0]["budget"] == 12345


def test_beat_runs_every_task_of_the_module_and_no_other_by_its_name() -> None:
    scheduled = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    ours = {name for name in scheduled if name.startswith("archives.")}
    defined = {
        task.name
        for task in vars(periodic).values()
        if isinstance(task, Task) and task.name.startswith("archives.periodic.")
    }

    assert ours == defined
    assert len(defined) == 5
