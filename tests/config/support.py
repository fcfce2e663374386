"""Running Python in a fresh process with the settings and ``var/`` a test chooses."""

from __future__ import annotations

import os
import subprocess
import sys
from typing import TYPE_CHECKING

from config.env import BASE_DIR

if TYPE_CHECKING:
    from pathlib import Path


def run_python(
    code: str, *, var_dir: Path, secret_key: str | None
) -> subprocess.CompletedProcess[str]:
    env = {key: value for key, value in os.environ.items() if key != "SECRET_KEY"}
    env.update({"VAR_DIR": str(var_dir), "DJANGO_SETTINGS_MODULE": "config.settings"})
    env.pop("CELERY_BROKER_URL", None)
    env.pop("REDIS_URL", None)
    if secret_key is not None:
        env["SECRET_KEY"] = secret_key
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
