"""One build as the Celery worker runs it, in its own process so its peak RSS is its own.

``python -m bench.build_worker FOLDER`` stores every file under FOLDER as the sources of a
new archive (hard links, no copy), runs ``build_archive`` and prints one JSON line: the
build's seconds, the ZIP's path and size, its status and error. The database and media
live under ``VAR_DIR``, which the caller sets.
"""

from __future__ import annotations

import json
import os
import sys
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import django


def _status_bytes(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) * 1024
    return 0


def _reset_peak_rss() -> int:
    """Start the peak (VmHWM) again from the present size, so the peak measured is the
    build's and not that of loading Django and the migrations; return the present size."""
    Path("/proc/self/clear_refs").write_text("5")
    return _status_bytes("VmRSS")


def main() -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    django.setup()
    from django.core.management import call_command
    from django.urls import get_resolver
    from django.utils import timezone

    from accounts.models import User
    from archives import build, storage
    from archives.build import build_archive, remove_sources
    from archives.models import Archive, ArchiveFile
    from archives.names import unique_names

    # Other work may add migrations while a long benchmark runs.
    call_command("migrate", "--noinput", verbosity=0)
    folder = Path(sys.argv[1])
    files = sorted(path for path in folder.rglob("*") if path.is_file())
    relative = [path.relative_to(folder).as_posix() for path in files]
    sizes = [path.stat().st_size for path in files]
    now = timezone.now()
    owner, _ = User.objects.get_or_create(username="bench")
    archive = Archive.objects.create(
        owner=owner,
        name="bench",
        expires_at=now + timedelta(hours=1),
        source_size=sum(sizes),
        created_at=now,
        queued_at=now,
    )
    rows = []
    for position, (path, name, size) in enumerate(
        zip(files, unique_names(relative), sizes, strict=True)
    ):
        source = storage.source_name(archive.id, position)
        target = storage.local_path(source)
        target.parent.mkdir(parents=True, exist_ok=True)
        os.link(path, target)
        rows.append(
            ArchiveFile(
                archive=archive,
                position=position,
                name=name,
                original_name=name,
                size=size,
                source_name=source,
            )
        )
    ArchiveFile.objects.bulk_create(rows)
    # The part of the build spent in the final transition (database rows and removing
    # the sources), told apart in the results.
    finish_times: list[float] = []
    real_finish = build.finish_build

    def timed_finish(*args: Any, **kwargs: Any) -> bool:
        began = time.perf_counter()
        try:
            return real_finish(*args, **kwargs)
        finally:
            finish_times.append(time.perf_counter() - began)

    build.finish_build = timed_finish
    # A running worker has loaded the URL configuration (the ready event's share URL needs
    # it) for earlier tasks; this one-off process loads it before the clock starts.
    get_resolver().url_patterns  # noqa: B018 (the access loads it)
    before = _reset_peak_rss()
    start = time.perf_counter()
    build_archive(archive.id)
    seconds = time.perf_counter() - start
    # The sources' removal is a task of its own, queued once the archive is ready (the
    # broker of this stack has no worker): run here after the clock, and timed apart.
    start = time.perf_counter()
    remove_sources(archive.id)
    removal_seconds = time.perf_counter() - start
    archive.refresh_from_db()
    path = str(storage.local_path(archive.zip_name)) if archive.zip_name else ""
    report = {
        "seconds": seconds,
        "finish_seconds": sum(finish_times),
        "removal_seconds": removal_seconds,
        "rss_before": before,
        "peak_rss": _status_bytes("VmHWM"),
        "status": archive.status,
        "error": archive.error,
        "size": archive.size or 0,
        "path": path,
        "archive_id": archive.id,
    }
    sys.stdout.write(json.dumps(report) + "\n")
    return 0 if archive.status == "ready" else 1


if __name__ == "__main__":
    sys.exit(main())
