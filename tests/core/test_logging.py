"""JSON log records carrying the request id."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from pathlib import Path

from core.logging import JsonFormatter, RequestIdFilter, request_id

BASE_DIR = Path(__file__).resolve().parent.parent.parent


def format_record(message: str, **extra: object) -> dict[str, object]:
    record = logging.LogRecord("archives.build", logging.WARNING, __file__, 1, message, (), None)
    record.__dict__.update(extra)
    RequestIdFilter().filter(record)
    return json.loads(JsonFormatter().format(record))


def test_json_formatter_writes_one_object_with_the_request_id_and_extras() -> None:
    token = request_id.set("req-42")
    try:
        entry = format_record("built %s", archive="abc")
    finally:
        request_id.reset(token)

    assert entry["level"] == "WARNING"
    assert entry["logger"] == "archives.build"
    assert entry["message"] == "built %s"
    assert entry["request_id"] == "req-42"
    assert entry["archive"] == "abc"
    assert str(entry["time"]).endswith("+00:00")


def test_json_formatter_keeps_the_traceback() -> None:
    try:
        raise ValueError("broken")
    except ValueError:
        record = logging.LogRecord("x", logging.ERROR, __file__, 1, "failed", (), sys.exc_info())
    entry = json.loads(JsonFormatter().format(record))

    assert "ValueError: broken" in str(entry["exception"])
    assert entry["request_id"] == "-"


def test_json_log_format_setting_makes_every_line_json(tmp_path: Path) -> None:
    env = {**os.environ, "DJANGO_LOG_FORMAT": "json", "VAR_DIR": str(tmp_path)}
    code = (
        "import django, logging; django.setup(); "
        "logging.getLogger('archives.test').warning('hello %s', 'world')"
    )

    result = subprocess.run(
        [sys.executable, "-c", code], cwd=BASE_DIR, env=env, capture_output=True, text=True,
        check=True,
    )  # fmt: skip

    lines = [json.loads(line) for line in result.stderr.splitlines()]
    assert {"logger": "archives.test", "message": "hello world"}.items() <= lines[-1].items()
