"""The build as a user gets it: uploaded through the API, built by a real worker process."""

from __future__ import annotations

import subprocess
import zipfile
from typing import TYPE_CHECKING

import pytest

from archives import storage
from tests.conftest import upload, wait_for_build, wait_until

if TYPE_CHECKING:
    from rest_framework.test import APIClient


@pytest.mark.django_db(transaction=True)
def test_uploaded_archive_is_built_by_the_worker(
    api: APIClient, live_worker: subprocess.Popen[bytes]
) -> None:
    text = b"a line of a log file that compresses well\n" * 50_000
    response = api.post(
        "/api/archives/",
        {"files": [upload("log.txt", text), upload("log.txt", b"second")], "name": "Logs"},
        format="multipart",
    )
    assert response.status_code == 201, response.content
    # Built by the worker, not in the request (which a fast worker may have begun).
    assert response.json()["status"] in {"pending", "building"}

    archive = wait_for_build(response.json()["id"])

    assert archive.status == "ready", archive.error
    path = storage.local_path(archive.zip_name)
    with zipfile.ZipFile(path) as built:
        assert built.testzip() is None
        assert built.namelist() == ["log.txt", "log (1).txt"]
        assert built.read("log.txt") == text
    unzip = subprocess.run(["unzip", "-t", str(path)], capture_output=True, text=True)
    assert unzip.returncode == 0, unzip.stdout
    assert "No errors detected" in unzip.stdout
    # The sources leave storage once the ready state is committed.
    assert wait_until(lambda: not (storage.root() / "uploads" / archive.id).exists())
