"""The web server's hooks (config/gunicorn.py)."""

from __future__ import annotations

import gc
import itertools
import sys
from typing import TYPE_CHECKING

import pytest

from config import gunicorn

if TYPE_CHECKING:
    from collections.abc import Iterator


@pytest.fixture
def fresh_process(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """A web process that has served nothing yet; what the test froze is thawed after."""
    monkeypatch.setattr(gunicorn, "_served", itertools.count(1))
    gc.unfreeze()
    yield
    gc.unfreeze()


def serve(count: int) -> None:
    for _ in range(count):
        gunicorn.post_request(object(), object(), {}, object())


@pytest.mark.usefixtures("fresh_process")
def test_what_a_process_holds_after_its_first_requests_is_left_out_of_collections() -> None:
    serve(gunicorn.WARM_REQUESTS - 1)
    assert gc.get_freeze_count() == 0
    loaded = [[number] for number in range(1000)]  # what the first requests loaded
    serve(1)
    frozen = gc.get_freeze_count()
    assert frozen >= len(loaded)
    # Once only: what later requests make is collected as usual.
    later = [[number] for number in range(1000)]
    serve(gunicorn.WARM_REQUESTS * 2)
    # Nothing joined the frozen ones (a frozen object that another thread let go of
    # leaves them, so the count may fall).
    assert gc.get_freeze_count() <= frozen
    assert later


def test_each_web_process_hands_the_gil_on_sooner_than_python_does() -> None:
    python_default = sys.getswitchinterval()
    try:
        gunicorn.post_fork(object(), object())
        assert sys.getswitchinterval() == pytest.approx(gunicorn.SWITCH_INTERVAL)
        assert sys.getswitchinterval() < python_default
    finally:
        sys.setswitchinterval(python_default)
