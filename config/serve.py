"""``make run``: web, Celery worker and Celery beat as one foreground command.

Prints the URL once the web server answers; SIGINT or SIGTERM stops all three and waits
for them, so nothing is left running.
"""

from __future__ import annotations

import logging
import signal
import subprocess
import sys
import time
import urllib.request
from typing import TYPE_CHECKING

from django.conf import settings

from config.env import BASE_DIR, env_int, env_str
from config.local_state import prepare_local_state

if TYPE_CHECKING:
    from pathlib import Path
    from types import FrameType

logger = logging.getLogger("serve")

STOP_TIMEOUT = 25.0


def _commands(var_dir: Path) -> dict[str, list[str]]:
    python = sys.executable
    return {
        "web": [python, "-m", "gunicorn", "-c", "config/gunicorn.py", "config.wsgi"],
        "worker": [
            python, "-m", "celery", "-A", "config", "worker",
            "--loglevel", "INFO",
            "--concurrency", str(env_int("WORKER_CONCURRENCY", 2, minimum=1)),
            "--hostname", "worker@%h",
        ],
        "beat": [
            python, "-m", "celery", "-A", "config", "beat",
            "--loglevel", "INFO",
            "--schedule", str(var_dir / "celerybeat-schedule"),
        ],
    }  # fmt: skip


def _wait_until_up(url: str, processes: dict[str, subprocess.Popen[bytes]]) -> bool:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if any(process.poll() is not None for process in processes.values()):
            return False
        try:
            with urllib.request.urlopen(f"{url}/healthz", timeout=2) as response:
                if response.status == 200:
                    return True
        except OSError:
            time.sleep(0.3)
    return False


def _stop(processes: dict[str, subprocess.Popen[bytes]]) -> None:
    for process in processes.values():
        if process.poll() is None:
            process.terminate()
    deadline = time.monotonic() + STOP_TIMEOUT
    for name, process in processes.items():
        try:
            process.wait(timeout=max(deadline - time.monotonic(), 0.1))
        except subprocess.TimeoutExpired:
            logger.warning("%s did not stop in time; killing it", name)
            process.kill()
            process.wait()


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    prepare_local_state()
    port = env_int("PORT", 8000, minimum=1)
    host = env_str("HOST", "127.0.0.1")
    url = f"http://{'127.0.0.1' if host in {'0.0.0.0', '::'} else host}:{port}"
    processes: dict[str, subprocess.Popen[bytes]] = {}
    stopping = False

    def on_signal(signum: int, frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    for name, command in _commands(settings.VAR_DIR).items():
        # Own process groups: a Ctrl-C reaches only this supervisor, which then stops
        # each child in order and waits for it.
        processes[name] = subprocess.Popen(command, cwd=BASE_DIR, start_new_session=True)
    if _wait_until_up(url, processes):
        logger.info("\n  Awaiting-death is running: open %s/\n  Stop with Ctrl-C.\n", url)
    else:
        logger.error("the web server did not come up; stopping")
        stopping = True
    while not stopping:
        if any(process.poll() is not None for process in processes.values()):
            failed = [name for name, p in processes.items() if p.poll() is not None]
            logger.error("%s stopped; stopping the rest", ", ".join(failed))
            break
        time.sleep(0.5)
    _stop(processes)
    return 0


if __name__ == "__main__":
    sys.exit(main())
