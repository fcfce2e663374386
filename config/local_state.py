"""What the embedded default keeps under ``var/``, made before anything reads it.

Its own module, not part of ``config.serve``: the ``config`` package imports Celery's app,
which calls this, and ``python -m config.serve`` must not find itself imported already.
"""

from __future__ import annotations

import contextlib
import secrets
from pathlib import Path

from django.conf import settings

from config.env import env_str, secret_key_file, var_dir


def prepare_local_state() -> None:
    """Make what the embedded default keeps under ``var/``: the folder itself, the
    secret key (when ``SECRET_KEY`` is not set, generated once), and the folders the
    settings name (collected static files, npm packages, upload scratch, the filesystem
    broker). The settings only read; ``manage.py``, ``make run``, the web server and the
    Celery processes call this before anything reads them."""
    var_dir().mkdir(parents=True, exist_ok=True)
    if not env_str("SECRET_KEY"):
        _generate_secret_key(secret_key_file())
    folders = [settings.STATIC_ROOT, settings.VENDOR_DIR, Path(settings.FILE_UPLOAD_TEMP_DIR)]
    transport = getattr(settings, "CELERY_BROKER_TRANSPORT_OPTIONS", {})
    folders += [
        Path(transport[key])
        for key in ("data_folder_in", "processed_folder", "control_folder")
        if key in transport
    ]
    for folder in folders:
        Path(folder).mkdir(parents=True, exist_ok=True)


def _generate_secret_key(path: Path) -> None:
    # O_EXCL: two processes starting at once must not write two different keys.
    with contextlib.suppress(FileExistsError), path.open("x", encoding="utf-8") as handle:
        handle.write(secrets.token_urlsafe(50))
        path.chmod(0o600)
