"""Faults caused for real: a worker killed mid-build, a full disk, a broker that is down
at upload, a database that does not answer."""

from __future__ import annotations

import base64
import os
import shutil
import signal
import subprocess
import sys
import time
import zipfile
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import requests
from django.core.files.uploadedfile import UploadedFile
from django.utils import timezone

from accounts.services import issue_token
from archives import storage
from archives.build import build_archive
from archives.models import Archive, Status
from archives.services import create_archive, requeue_stalled_builds
from tests.conftest import (
    IN_CI,
    free_port,
    service_env,
    start_process,
    stop_process,
    streamed_body,
    tmpfs,
    wait_for_build,
    web_command,
    worker_command,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from pytest_django.fixtures import Settings as DjangoSettings
    from rest_framework.test import APIClient

    from accounts.models import User


def require(binary: str) -> str:
    path = shutil.which(binary) or (
        f"/usr/sbin/{binary}" if Path(f"/usr/sbin/{binary}").exists() else None
    )
    if path is None:
        if IN_CI:
            pytest.fail(f"{binary} is needed in CI")
        pytest.skip(f"{binary} is not installed")
    return path


def big_text_file(path: Path, megabytes: int) -> Path:
    """Text that deflates slowly enough to catch a build in the middle."""
    with path.open("wb") as handle:
        for _ in range(megabytes):
            handle.write(base64.b64encode(os.urandom(786_432)))
    return path


@pytest.mark.django_db(transaction=True)
def test_worker_killed_mid_build_is_requeued_and_no_partial_zip_is_served(
    user: User,
    anon: APIClient,
    media_dir: Path,
    tmp_path: Path,
    settings: DjangoSettings,
) -> None:
    source = big_text_file(tmp_path / "big.txt", 120)
    env = service_env(media_dir)
    worker = start_process(
        worker_command(pool="solo"), env=env, log=tmp_path / "w1.log", ready=b" ready."
    )
    with source.open("rb") as handle:
        archive = create_archive(
            user,
            files=[UploadedFile(handle, name="big.txt", size=source.stat().st_size)],
            name="Big", description="", password="", ttl=3600, max_downloads=None,
            now=timezone.now(),
        )  # fmt: skip
    deadline = time.monotonic() + 60
    while Archive.objects.get(pk=archive.pk).progress < 5:
        assert time.monotonic() < deadline, "the build did not start"
        time.sleep(0.05)

    os.killpg(worker.pid, signal.SIGKILL)
    worker.wait()

    killed = Archive.objects.get(pk=archive.pk)
    assert killed.status == Status.BUILDING
    assert killed.zip_name == ""
    assert not storage.local_path(storage.zip_name(archive.id)).exists()
    refused = anon.get(f"/api/shares/{archive.slug}/download")
    assert refused.status_code == 409
    assert refused.json()["status"] == "building"

    later = timezone.now() + timedelta(seconds=settings.BUILD_STALL_SECONDS + 1)
    assert requeue_stalled_builds(now=later) == 1
    worker = start_process(
        worker_command(pool="solo"), env=env, log=tmp_path / "w2.log", ready=b" ready."
    )
    try:
        rebuilt = wait_for_build(archive.id, timeout=180)
    finally:
        stop_process(worker)

    assert rebuilt.status == Status.READY, rebuilt.error
    assert rebuilt.build_attempts == 2
    zip_path = storage.local_path(rebuilt.zip_name)
    with zipfile.ZipFile(zip_path) as built:
        assert built.testzip() is None
    assert not list(zip_path.parent.glob(".*.part"))


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 3 MiB file system."""
    with tmpfs(tmp_path / "small", size="3m") as mount_point:
        yield mount_point


@pytest.mark.django_db
def test_disk_full_during_build_fails_readably_and_spares_other_archives(
    small_disk: Path,
    settings: DjangoSettings,
    make_archive: Callable[..., Archive],
    anon: APIClient,
) -> None:
    settings.MEDIA_ROOT = str(small_disk)
    other = make_archive({"keep.txt": b"keep me\n" * 1000})
    other_bytes = storage.local_path(other.zip_name).read_bytes()
    random_data = os.urandom(1_700_000)  # stored as is: sources + ZIP exceed the disk

    archive = make_archive({"random.bin": random_data}, build=False)
    build_archive(archive.id)

    archive.refresh_from_db()
    assert archive.status == Status.FAILED
    assert "No space left on device" in archive.error
    assert not list((small_disk / "archives").glob(".*.part"))
    assert storage.local_path(archive.files.get().source_name).read_bytes() == random_data
    response = anon.get(f"/api/shares/{other.slug}/download")
    assert response.status_code == 200
    assert streamed_body(response) == other_bytes


@pytest.mark.django_db(transaction=True)
def test_upload_while_broker_is_down_is_kept_and_built_once_it_is_back(
    user: User, media_dir: Path, tmp_path: Path
) -> None:
    redis_server = require("redis-server")
    broker_port, web_port = free_port(), free_port()
    env = service_env(media_dir, CELERY_BROKER_URL=f"redis://127.0.0.1:{broker_port}/0")
    web = start_process(
        web_command(web_port), env=env, log=tmp_path / "web.log", ready=b"Booting worker"
    )
    processes = [web]
    try:
        started = time.monotonic()
        response = requests.post(
            f"http://127.0.0.1:{web_port}/api/archives/",
            headers={"Authorization": f"Token {issue_token(user)}"},
            files=[("files", ("a.txt", b"kept while the broker is down"))],
            timeout=60,
        )
        assert response.status_code == 201, response.text
        assert time.monotonic() - started < 30
        archive = Archive.objects.get(pk=response.json()["id"])
        assert archive.status == Status.PENDING
        assert storage.local_path(archive.files.get().source_name).exists()

        processes.append(
            start_process(
                [redis_server, "--port", str(broker_port), "--bind", "127.0.0.1",
                 "--save", "", "--appendonly", "no"],
                env=env, log=tmp_path / "redis.log", ready=b"Ready to accept connections",
            )
        )  # fmt: skip
        processes.append(
            start_process(worker_command(), env=env, log=tmp_path / "w.log", ready=b" ready.")
        )
        reaper = subprocess.run(
            [sys.executable, "manage.py", "requeue_stalled_builds", "--stalled-after", "0"],
            cwd=Path(__file__).resolve().parent.parent,
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        assert "Queued 1 build(s) again." in reaper.stdout

        assert wait_for_build(archive.id).status == Status.READY
    finally:
        for process in reversed(processes):
            stop_process(process)


def test_healthz_is_503_when_the_database_does_not_answer(tmp_path: Path) -> None:
    web_port = free_port()
    env = {
        **os.environ,
        "DJANGO_ENV": "test",
        "VAR_DIR": str(tmp_path),
        "DATABASE_URL": f"postgres://postgres@127.0.0.1:{free_port()}/nowhere",
    }
    web = start_process(
        web_command(web_port), env=env, log=tmp_path / "web.log", ready=b"Booting worker"
    )
    try:
        response = requests.get(f"http://127.0.0.1:{web_port}/healthz", timeout=30)
    finally:
        stop_process(web)

    assert response.status_code == 503
    assert response.json()["database"] == "unreachable"


@pytest.mark.django_db(transaction=True)
def test_worker_stopped_gracefully_finishes_the_build_in_flight(
    user: User, media_dir: Path, tmp_path: Path
) -> None:
    source = big_text_file(tmp_path / "big.txt", 200)
    worker = start_process(
        worker_command(), env=service_env(media_dir), log=tmp_path / "w.log", ready=b" ready."
    )
    try:
        with source.open("rb") as handle:
            archive = create_archive(
                user,
                files=[UploadedFile(handle, name="big.txt", size=source.stat().st_size)],
                name="Big", description="", password="", ttl=3600, max_downloads=None,
                now=timezone.now(),
            )  # fmt: skip
        deadline = time.monotonic() + 60
        while Archive.objects.get(pk=archive.pk).status == Status.PENDING:
            assert time.monotonic() < deadline, "the build did not start"
            time.sleep(0.01)
        seen = Archive.objects.get(pk=archive.pk)
        assert seen.status == Status.BUILDING, (seen.status, seen.error)

        worker.send_signal(signal.SIGTERM)  # what docker stop and Kubernetes send
        worker.wait(timeout=300)
    finally:
        stop_process(worker)

    finished = Archive.objects.get(pk=archive.pk)
    assert finished.status == Status.READY, finished.error
    assert b"Warm shutdown" in (tmp_path / "w.log").read_bytes()
