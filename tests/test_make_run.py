"""`make run` as a person uses it: it serves, prints the URL, and Ctrl-C (SIGINT to the
foreground group) or SIGTERM to make stops web, worker and beat, leaving nothing behind."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
import requests

from tests.conftest import free_port

BASE_DIR = Path(__file__).resolve().parent.parent


def processes_of(var_dir: Path) -> list[int]:
    """Processes started with ``VAR_DIR`` set to ``var_dir``."""
    marker = f"VAR_DIR={var_dir}".encode()
    found = []
    for environ in Path("/proc").glob("[0-9]*/environ"):
        try:
            if marker in environ.read_bytes().split(b"\0"):
                found.append(int(environ.parent.name))
        except OSError:
            continue
    return found


@pytest.mark.parametrize("stop", ["ctrl-c", "sigterm"])
def test_make_run_serves_and_stops_everything(tmp_path: Path, stop: str) -> None:
    port = free_port()
    var_dir = tmp_path / "var"
    env = {**os.environ, "PORT": str(port), "VAR_DIR": str(var_dir)}
    for name in ("DATABASE_URL", "CELERY_BROKER_URL", "REDIS_URL", "DJANGO_ENV", "SECRET_KEY"):
        env.pop(name, None)
    log = tmp_path / "run.log"
    with log.open("wb") as output:
        make = subprocess.Popen(
            ["make", "run"],
            cwd=BASE_DIR,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        url = f"http://127.0.0.1:{port}/"
        # A guard against a hang, not a timing: a fresh VAR_DIR migrates and collects
        # static files first, and the suite's other pass may share the cores.
        deadline = time.monotonic() + 600
        while f"running: open {url}".encode() not in log.read_bytes():
            assert make.poll() is None, log.read_text()
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.5)
        health = requests.get(f"{url}healthz", timeout=10)
        assert health.json() == {"database": "ok", "broker": "ok", "status": "ok"}
        assert (var_dir / "db.sqlite3").exists()
        assert (var_dir / "secret_key").exists()
        assert len(processes_of(var_dir)) >= 3

        if stop == "ctrl-c":
            os.killpg(make.pid, signal.SIGINT)
        else:
            make.send_signal(signal.SIGTERM)
        make.wait(timeout=60)

        deadline = time.monotonic() + 30
        while processes_of(var_dir):
            assert time.monotonic() < deadline, f"left running: {processes_of(var_dir)}"
            time.sleep(0.5)
        with pytest.raises(requests.ConnectionError):
            requests.get(f"{url}healthz", timeout=5)
    finally:
        for pid in processes_of(var_dir):
            os.kill(pid, signal.SIGKILL)
