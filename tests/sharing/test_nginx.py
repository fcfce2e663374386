"""Downloads through real nginx in front of the app (``DOWNLOAD_ACCEL=nginx``), with the
site config of deploy/nginx/: nginx sends the file, the app decides and counts."""

from __future__ import annotations

import hashlib
import http.client
import ipaddress
import os
import re
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from django.conf import settings as django_settings

from archives.models import Download
from tests.conftest import IN_CI

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from pytest_django.fixtures import Settings as DjangoSettings
    from pytest_django.live_server_helper import LiveServer

    from archives.models import Archive

NGINX = Path("/usr/sbin/nginx")
TEMPLATE = Path(__file__).resolve().parents[2] / "deploy/nginx/templates/default.conf.template"
# The client talks to nginx from another loopback address than nginx talks to the app
# from, so the address the download log records shows which hop it came from.
CLIENT_ADDRESS = "127.0.0.2"

if not NGINX.exists() and not IN_CI:
    pytest.skip("nginx is not installed (.ci/run installs it)", allow_module_level=True)


def render_site_config(*, port: int, upstream: str, media_root: Path) -> str:
    """The site template with its placeholders filled in, as the nginx image does."""
    values = {"NGINX_PORT": str(port), "APP_UPSTREAM": upstream, "MEDIA_ROOT": str(media_root)}
    return re.sub(r"\$\{(\w+)\}", lambda match: values[match[1]], TEMPLATE.read_text())


def write_main_config(prefix: Path, site: str, *, connections: int = 64) -> Path:
    """A whole nginx.conf around ``site`` that keeps every file nginx writes in ``prefix``,
    for ``connections`` at once (clients and upstream together)."""
    (prefix / "site.conf").write_text(site)
    # As root, nginx's workers would drop to "nobody", who cannot read pytest's files.
    user = "user root;\n" if os.geteuid() == 0 else ""
    main = prefix / "nginx.conf"
    main.write_text(
        f"{user}worker_processes 1;\npid {prefix}/nginx.pid;\nerror_log {prefix}/error.log;\n"
        f"events {{ worker_connections {connections}; }}\n"
        "http {\n"
        "    default_type application/octet-stream;\n"
        f"    access_log {prefix}/access.log;\n"
        f"    client_body_temp_path {prefix}/body;\n"
        f"    proxy_temp_path {prefix}/proxy;\n"
        f"    fastcgi_temp_path {prefix}/fastcgi;\n"
        f"    uwsgi_temp_path {prefix}/uwsgi;\n"
        f"    scgi_temp_path {prefix}/scgi;\n"
        f"    include {prefix}/site.conf;\n"
        "}\n"
    )
    return main


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def nginx_command(main: Path, prefix: Path, *args: str) -> list[str]:
    return [str(NGINX), "-p", f"{prefix}/", "-e", f"{prefix}/error.log", "-c", str(main), *args]


@pytest.fixture
def nginx(live_server: LiveServer, settings: DjangoSettings, tmp_path: Path) -> Iterator[int]:
    """nginx on a free port in front of ``live_server``; yields the port."""
    settings.DOWNLOAD_ACCEL = "nginx"
    settings.TRUSTED_PROXIES = [ipaddress.ip_network("127.0.0.1/32")]
    upstream = live_server.url.removeprefix("http://").replace("localhost", "127.0.0.1")
    port = free_port()
    site = render_site_config(
        port=port, upstream=upstream, media_root=Path(django_settings.MEDIA_ROOT)
    )
    main = write_main_config(tmp_path, site)
    process = subprocess.Popen(
        nginx_command(main, tmp_path, "-g", "daemon off;"),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 10
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            break
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                output = process.communicate()[0].decode()
                pytest.fail(f"nginx did not start:\n{output}")
            time.sleep(0.05)
    yield port
    process.terminate()
    process.wait(timeout=10)


@dataclass(frozen=True)
class Reply:
    status: int
    headers: http.client.HTTPMessage
    body: bytes

    def header(self, name: str) -> str | None:
        return self.headers.get(name)


def get(port: int, path: str, headers: dict[str, str] | None = None) -> Reply:
    """GET through nginx from ``CLIENT_ADDRESS``."""
    connection = http.client.HTTPConnection(
        "127.0.0.1", port, timeout=10, source_address=(CLIENT_ADDRESS, 0)
    )
    try:
        connection.request("GET", path, headers=headers or {})
        response = connection.getresponse()
        return Reply(response.status, response.headers, response.read())
    finally:
        connection.close()


def download_path(archive: Archive) -> str:
    return f"/api/shares/{archive.slug}/download"


@pytest.mark.django_db(transaction=True)
def test_nginx_sends_the_whole_archive_and_the_log_records_the_forwarded_client(
    nginx: int, make_archive: Callable[..., Archive]
) -> None:
    archive = make_archive({"a.bin": os.urandom(300_000), "b.txt": b"text\n" * 1000})
    stored = (Path(django_settings.MEDIA_ROOT) / archive.zip_name).read_bytes()

    # A client cannot choose the address that is logged: nginx replaces the header.
    response = get(nginx, download_path(archive), {"X-Forwarded-For": "203.0.113.9"})

    assert response.status == 200
    assert response.body == stored
    assert hashlib.sha256(response.body).hexdigest() == archive.sha256
    assert response.header("Content-Length") == str(len(stored))
    assert response.header("Content-Type") == "application/zip"
    assert (response.header("Content-Disposition") or "").startswith("attachment;")
    assert response.header("ETag") == f'"{archive.sha256}"'
    assert response.header("Accept-Ranges") == "bytes"
    assert response.header("X-Content-Type-Options") == "nosniff"
    assert response.header("Content-Security-Policy") == "default-src 'none'; sandbox"
    assert response.header("X-Download-Grant")
    assert response.header("X-Request-ID")
    assert response.header("X-Accel-Redirect") is None
    assert list(Download.objects.filter(archive=archive).values_list("ip", flat=True)) == [
        CLIENT_ADDRESS
    ]


@pytest.mark.django_db(transaction=True)
def test_nginx_answers_a_range_with_206_and_a_resume_is_not_counted_again(
    nginx: int, make_archive: Callable[..., Archive]
) -> None:
    archive = make_archive({"a.bin": os.urandom(200_000)}, max_downloads=1)
    stored = (Path(django_settings.MEDIA_ROOT) / archive.zip_name).read_bytes()
    first = get(nginx, download_path(archive), {"Range": "bytes=0-999"})
    grant = first.header("X-Download-Grant") or ""

    resumed = get(
        nginx,
        download_path(archive),
        {"Range": "bytes=1000-", "If-Range": f'"{archive.sha256}"', "X-Download-Grant": grant},
    )

    assert first.status == 206
    assert first.body == stored[:1000]
    assert first.header("Content-Range") == f"bytes 0-999/{len(stored)}"
    assert resumed.status == 206
    assert resumed.body == stored[1000:]
    assert resumed.header("Content-Range") == f"bytes 1000-{len(stored) - 1}/{len(stored)}"
    assert Download.objects.filter(archive=archive).count() == 1
    # The limit of one is used: without the grant nginx is never asked for the file.
    assert get(nginx, download_path(archive)).status == 410


@pytest.mark.django_db(transaction=True)
def test_nginx_never_serves_the_protected_location_to_a_client(
    nginx: int, make_archive: Callable[..., Archive]
) -> None:
    archive = make_archive()

    assert get(nginx, f"/protected/{archive.zip_name}").status == 404
    assert get(nginx, "/metrics").status == 404


def test_nginx_accepts_the_deploy_config(tmp_path: Path) -> None:
    site = render_site_config(port=free_port(), upstream="127.0.0.1:8000", media_root=tmp_path)
    main = write_main_config(tmp_path, site)

    result = subprocess.run(
        nginx_command(main, tmp_path, "-t", "-q"), capture_output=True, text=True, check=False
    )

    assert result.returncode == 0, result.stderr
