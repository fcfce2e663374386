"""Prometheus metrics: the counters kept and the /metrics endpoint."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from prometheus_client import REGISTRY

from archives.tasks import build_archive_task
from core import metrics

if TYPE_CHECKING:
    from collections.abc import Callable

    from django.test import Client
    from pytest_django.fixtures import DjangoCaptureOnCommitCallbacks
    from pytest_django.fixtures import Settings as DjangoSettings
    from rest_framework.test import APIClient

    from archives.models import Archive

BASE_DIR = Path(__file__).resolve().parent.parent.parent


def test_metrics_are_not_found_when_disabled(client: Client, settings: DjangoSettings) -> None:
    settings.METRICS_ENABLED = False

    assert client.get("/metrics").status_code == 404


def test_metrics_are_served_when_enabled(client: Client, settings: DjangoSettings) -> None:
    settings.METRICS_ENABLED = True
    settings.METRICS_TOKEN = ""
    metrics.count_refusal("expired")
    metrics.count_build("ready", seconds=1.5)

    response = client.get("/metrics")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    text = response.content.decode()
    for name in (
        "awaiting_death_uploads_total",
        "awaiting_death_builds_total",
        "awaiting_death_build_seconds_bucket",
        "awaiting_death_downloads_total",
        "awaiting_death_served_bytes_total",
    ):
        assert name in text
    assert 'awaiting_death_download_refusals_total{reason="expired"}' in text


def test_metrics_need_the_bearer_token_when_one_is_set(
    client: Client, settings: DjangoSettings
) -> None:
    settings.METRICS_ENABLED = True
    settings.METRICS_TOKEN = "s3cret-token"

    missing = client.get("/metrics")
    wrong = client.get("/metrics", HTTP_AUTHORIZATION="Bearer nope")
    right = client.get("/metrics", HTTP_AUTHORIZATION="Bearer s3cret-token")

    assert missing.status_code == 401
    assert missing["WWW-Authenticate"].startswith("Bearer")
    assert wrong.status_code == 401
    assert right.status_code == 200


def test_an_upload_through_the_api_is_counted(
    api: APIClient,
    monkeypatch: pytest.MonkeyPatch,
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
) -> None:
    monkeypatch.setattr(build_archive_task, "delay", lambda archive_id: None)
    before = REGISTRY.get_sample_value("awaiting_death_uploads_total") or 0.0
    files_before = REGISTRY.get_sample_value("awaiting_death_uploaded_files_total") or 0.0
    files = [
        SimpleUploadedFile("a.txt", b"a" * 10),
        SimpleUploadedFile("b.txt", b"b" * 20),
    ]

    with django_capture_on_commit_callbacks(execute=True):
        response = api.post("/api/archives/", {"files": files, "name": "x"}, format="multipart")

    assert response.status_code == 201, response.content
    assert REGISTRY.get_sample_value("awaiting_death_uploads_total") == before + 1
    assert REGISTRY.get_sample_value("awaiting_death_uploaded_files_total") == files_before + 2


def test_build_metrics_record_the_result_and_seconds() -> None:
    labels = {"result": "failed"}
    before = REGISTRY.get_sample_value("awaiting_death_builds_total", labels) or 0.0
    count_before = REGISTRY.get_sample_value("awaiting_death_build_seconds_count") or 0.0

    metrics.count_build("failed", seconds=0.2)

    assert REGISTRY.get_sample_value("awaiting_death_builds_total", labels) == before + 1
    assert REGISTRY.get_sample_value("awaiting_death_build_seconds_count") == count_before + 1


def test_metrics_add_up_every_process_sharing_the_multiprocess_folder(tmp_path: Path) -> None:
    folder = tmp_path / "metrics"
    folder.mkdir()
    env = {
        **os.environ,
        "PROMETHEUS_MULTIPROC_DIR": str(folder),
        "METRICS_ENABLED": "true",
        "VAR_DIR": str(tmp_path / "var"),
    }
    count = (
        "import django; django.setup(); from core import metrics; "
        "metrics.count_build('ready', seconds=2.0)"
    )
    scrape = (
        "import django; django.setup(); from django.test import Client; "
        "print(Client().get('/metrics').content.decode())"
    )
    for _ in range(2):
        subprocess.run([sys.executable, "-c", count], cwd=BASE_DIR, env=env, check=True)

    result = subprocess.run(
        [sys.executable, "-c", scrape], cwd=BASE_DIR, env=env, capture_output=True, text=True,
        check=True,
    )  # fmt: skip

    assert 'awaiting_death_builds_total{result="ready"} 2.0' in result.stdout


@pytest.mark.django_db
def test_downloads_refusals_and_bytes_are_counted(
    anon: APIClient, make_archive: Callable[..., Archive]
) -> None:
    archive = make_archive(max_downloads=1)
    url = f"/api/shares/{archive.slug}/download"
    downloads = REGISTRY.get_sample_value("awaiting_death_downloads_total") or 0.0
    served = REGISTRY.get_sample_value("awaiting_death_served_bytes_total") or 0.0
    limit = {"reason": "limit_reached"}
    refused = REGISTRY.get_sample_value("awaiting_death_download_refusals_total", limit) or 0.0

    assert anon.get(url).status_code == 200
    # A new client: with the first one's grant cookie this would go on with its download.
    anon.cookies.clear()
    assert anon.get(url).status_code == 410

    assert REGISTRY.get_sample_value("awaiting_death_downloads_total") == downloads + 1
    assert REGISTRY.get_sample_value("awaiting_death_served_bytes_total") == served + (
        archive.size or 0
    )
    assert REGISTRY.get_sample_value("awaiting_death_download_refusals_total", limit) == refused + 1


@pytest.mark.django_db(transaction=True)
def test_a_worker_serves_its_metrics_on_its_port(media_dir: Path, tmp_path: Path) -> None:
    import requests

    from tests.conftest import free_port, service_env, start_process, stop_process, worker_command

    port = free_port()
    env = service_env(media_dir, METRICS_ENABLED="true", METRICS_WORKER_PORT=str(port))
    # One process: no multiprocess folder (prometheus-client treats the variable's mere
    # presence, even empty, as "write files into the current folder").
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    worker = start_process(worker_command(), env=env, log=tmp_path / "w.log", ready=b" ready.")
    try:
        response = requests.get(f"http://127.0.0.1:{port}/metrics", timeout=10)
    finally:
        stop_process(worker)

    assert response.status_code == 200
    assert "awaiting_death_builds_total" in response.text
