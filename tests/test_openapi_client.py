"""A client generated from the live schema by openapi-python-client (during the run, never
committed) does the owner's and the recipient's work, every answer 2xx and read through
the generated models: register, token, list, create (multipart, and from tus uploads),
patch (clearing a limit with null), links, the share and its download."""

from __future__ import annotations

import hashlib
import importlib
import subprocess
import sys
from io import BytesIO
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import requests
from tusclient.client import TusClient

from archives.tasks import build_archive_task

if TYPE_CHECKING:
    from collections.abc import Callable

    from pytest_django.live_server_helper import LiveServer

pytestmark = pytest.mark.django_db(transaction=True)

PACKAGE = "awaiting_death_client"
# openapi-python-client reads only the media types it knows: the ZIP is binary to it.
CONFIG = """\
content_type_overrides:
  application/zip: application/octet-stream
post_hooks: []
"""
CONTENTS = {"alpha.txt": b"alpha\n" * 1000, "beta.bin": bytes(range(256)) * 40}


def generate_client(base_url: str, folder: Path) -> Any:
    """Generate the client package from ``base_url``'s schema into ``folder`` and import
    it (``folder`` goes on ``sys.path``)."""
    schema = requests.get(f"{base_url}/api/schema/", params={"format": "json"}, timeout=30)
    schema.raise_for_status()
    (folder / "schema.json").write_bytes(schema.content)
    (folder / "config.yaml").write_text(CONFIG)
    command = Path(sys.executable).with_name("openapi-python-client")
    generated = subprocess.run(
        [
            str(command), "generate", "--path", "schema.json", "--meta", "none",
            "--output-path", PACKAGE, "--config", "config.yaml",
        ],
        cwd=folder, capture_output=True, text=True, check=False, timeout=120,
    )  # fmt: skip
    assert generated.returncode == 0, generated.stdout + generated.stderr
    assert "WARNING" not in generated.stdout, generated.stdout
    sys.path.insert(0, str(folder))
    try:
        importlib.invalidate_caches()
        return importlib.import_module(PACKAGE)
    finally:
        sys.path.remove(str(folder))


def drive_client(
    base_url: str, *, username: str, build: Callable[[str], None]
) -> list[tuple[str, int]]:
    """The calls of an owner and a recipient through the generated client (imported
    before as ``PACKAGE``), each answer checked; returns each call and its status.
    ``build(archive_id)`` returns once the archive is built."""
    client_module = importlib.import_module(PACKAGE)
    models = importlib.import_module(f"{PACKAGE}.models")
    types = importlib.import_module(f"{PACKAGE}.types")
    calls: list[tuple[str, int]] = []

    def call(label: str, operation: str, **kwargs: Any) -> Any:
        module = importlib.import_module(f"{PACKAGE}.api.{operation}")
        response = module.sync_detailed(**kwargs)
        calls.append((label, int(response.status_code)))
        assert 200 <= response.status_code < 300, (label, response.content)
        return response.parsed

    anonymous = client_module.Client(base_url=base_url)
    credentials = models.CredentialsRequest(username=username, password="violet tangerine 42")
    user = call(
        "POST /api/auth/register/",
        "auth.auth_register_create",
        client=anonymous,
        body=credentials,
    )
    assert user.username == username
    token = call(
        "POST /api/auth/token/",
        "auth.auth_token_create",
        client=anonymous,
        body=credentials,
    ).token
    owner = client_module.AuthenticatedClient(base_url=base_url, token=token, prefix="Token")

    files = [
        types.File(payload=BytesIO(data), file_name=name, mime_type="application/octet-stream")
        for name, data in CONTENTS.items()
    ]
    uploaded = call(
        "POST /api/archives/ (multipart)",
        "archives.archives_create",
        client=owner,
        body=models.ArchiveCreateRequest(files=files, name="Generated", max_downloads=5),
    )
    assert (uploaded.name, uploaded.status.value) == ("Generated", "pending")
    assert [item.name for item in uploaded.files] == list(CONTENTS)

    tus = TusClient(f"{base_url}/api/uploads/", headers={"Authorization": f"Token {token}"})
    sender = tus.uploader(file_stream=BytesIO(b"gamma\n" * 500), metadata={"filename": "g.txt"})
    sender.upload()
    assert sender.url is not None
    from_uploads = call(
        "POST /api/archives/ (uploads)",
        "archives.archives_create",
        client=owner,
        body=models.ArchiveFromUploadsRequest(uploads=[sender.url.rsplit("/", 1)[1]]),
    )
    assert [item.name for item in from_uploads.files] == ["g.txt"]

    listed = call(
        "GET /api/archives/",
        "archives.archives_list",
        client=owner,
    )
    assert listed.count == 2
    assert {item.id for item in listed.results} == {uploaded.id, from_uploads.id}

    patched = call(
        "PATCH /api/archives/{id}/",
        "archives.archives_partial_update",
        client=owner,
        id=uploaded.id,
        body=models.PatchedArchiveUpdateRequest(name="Renamed", max_downloads=None),
    )
    assert (patched.name, patched.max_downloads) == ("Renamed", None)

    link = call(
        "POST /api/archives/{archive_id}/links/",
        "archives.archives_links_create",
        client=owner,
        archive_id=uploaded.id,
        body=models.LinkCreateRequest(label="Alice", max_downloads=1),
    )
    assert (link.label, link.downloads_left) == ("Alice", 1)

    build(uploaded.id)
    ready = call(
        "GET /api/archives/{id}/",
        "archives.archives_retrieve",
        client=owner,
        id=uploaded.id,
    )
    assert ready.status.value == "ready"
    share = call(
        "GET /api/shares/{slug}/",
        "shares.shares_retrieve",
        client=anonymous,
        slug=link.slug,
    )
    assert share.downloads_left == 1
    zip_file = call(
        "GET /api/shares/{slug}/download",
        "shares.shares_download_retrieve",
        client=anonymous,
        slug=link.slug,
    )
    assert hashlib.sha256(zip_file.payload.read()).hexdigest() == ready.sha256
    return calls


def test_a_generated_client_does_the_whole_round_trip(
    live_server: LiveServer, tmp_path: Path
) -> None:
    generate_client(live_server.url, tmp_path)
    try:
        calls = drive_client(live_server.url, username="generated", build=build_archive_task)
    finally:
        for name in [name for name in sys.modules if name.split(".")[0] == PACKAGE]:
            del sys.modules[name]

    assert [status for _, status in calls] == [201, 200, 201, 201, 200, 200, 201, 200, 200, 200]
