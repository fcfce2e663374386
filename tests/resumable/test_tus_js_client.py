"""tus-js-client under Node against gunicorn, across processes: one node process is killed
in the middle of a PATCH, a new one finds the upload's URL in its URL storage and finishes
it, with PATCH or with POST and X-HTTP-Method-Override; the archive made of it holds the
file's very bytes."""

from __future__ import annotations

import hashlib
import os
import shutil
from typing import TYPE_CHECKING

import pytest
import requests

from accounts.services import issue_token
from resumable.models import ResumableUpload
from tests.conftest import (
    BASE_DIR,
    free_port,
    service_env,
    start_process,
    stop_process,
    wait_until,
    web_command,
)
from tests.resumable.api.test_views import metadata
from tests.resumable.test_tus_client import archive_from_upload, member_sha256, run_client

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from accounts.models import User

pytestmark = [pytest.mark.server, pytest.mark.django_db(transaction=True)]

SCRIPT = BASE_DIR / "tests" / "resumable" / "tus_js_upload.mjs"
CHUNK = 256 * 1024
# Not a whole number of chunks, and incompressible.
DATA = os.urandom(12 * CHUNK + 777)


class Server:
    def __init__(self, url: str, log: Path) -> None:
        self.url = url
        self.log = log

    def requests_to(self, path: str) -> list[str]:
        """The methods of the requests to ``path`` in the access log, in order."""
        methods = []
        for line in self.log.read_text().splitlines():
            # gunicorn's access log: ... "METHOD /path HTTP/1.1" status ...
            request = line.split('"')[1] if line.count('"') >= 2 else ""
            method, _, rest = request.partition(" ")
            if rest.split(" ")[0] == path:
                methods.append(method)
        return methods


@pytest.fixture
def server(media_dir: Path, tmp_path: Path) -> Iterator[Server]:
    """gunicorn as `make run` serves it, with its access log on, to see what node sent."""
    port = free_port()
    log = tmp_path / "web.log"
    process = start_process(
        web_command(port),
        env=service_env(media_dir, WEB_ACCESS_LOG="1"),
        log=log,
        ready=b"Booting worker",
    )
    yield Server(f"http://127.0.0.1:{port}", log)
    stop_process(process)


def node_client(source: Path, store: Path) -> list[str]:
    node = shutil.which("node")
    assert node is not None, "Node 20 runs the tus-js-client tests"
    files = ["--file", str(source), "--storage", str(store)]
    return [node, str(SCRIPT), *files, "--chunk-size", str(CHUNK)]


@pytest.mark.parametrize("override", [False, True], ids=["patch", "override"])
def test_a_killed_node_upload_resumes_in_a_new_process(
    server: Server, user: User, tmp_path: Path, override: bool
) -> None:
    source = tmp_path / "film.bin"
    source.write_bytes(DATA)
    node = node_client(source, tmp_path / "tus-urls.json")
    options = ["--override-patch"] if override else []

    # Killed once two and a half chunks went out: the third PATCH breaks off midway.
    cut = 5 * CHUNK // 2
    killed = run_client(node, server.url, user, *options, "--die-after", str(cut))

    assert killed["event"] == "killed"
    assert killed["exit"] == -9
    upload_id = killed["url"].rsplit("/", 1)[1]
    # What arrived of the broken PATCH is kept (once the server saw the connection end,
    # on its own thread): the next process goes on from there.
    assert wait_until(lambda: stands(upload_id) == (cut, "")), stands(upload_id)

    resumed = run_client(node, server.url, user, *options)

    assert resumed == {
        "exit": 0,
        "event": "success",
        "url": killed["url"],
        "resumed": killed["url"],
    }
    # The chunks went as PATCH, or as POST with the override, never both; the new process
    # asked for the offset once.
    sent = server.requests_to(f"/api/uploads/{upload_id}")
    assert set(sent) == ({"POST", "HEAD"} if override else {"PATCH", "HEAD"})
    assert sent.count("HEAD") == 1
    headers = {"Authorization": f"Token {issue_token(user)}", "Tus-Resumable": "1.0.0"}
    head = requests.head(killed["url"], headers=headers, timeout=10)
    assert head.headers["Upload-Offset"] == str(len(DATA))
    assert head.headers["Upload-Metadata"] == metadata(
        filename="film.bin", relativePath="films/film.bin"
    )

    archive = archive_from_upload(server.url, headers, upload_id)
    assert member_sha256(archive, "films/film.bin") == hashlib.sha256(DATA).hexdigest()


def stands(upload_id: str) -> tuple[int, str]:
    """The upload's offset and its writer's claim (empty when no request writes)."""
    upload = ResumableUpload.objects.get(pk=upload_id)
    return upload.offset, upload.claim
