"""Slow clients through the shipped nginx config (deploy/nginx/): nginx holds their bodies,
caps connections per address, and drops a client that stalls; the app behind keeps
answering."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from django.conf import settings as django_settings

from tests.conftest import first_status_lines, healthz_status, slow_posts, wait_until
from tests.sharing.test_nginx import (
    free_port,
    nginx_command,
    render_site_config,
    write_main_config,
)

if TYPE_CHECKING:
    from collections.abc import Iterator

    from pytest_django.live_server_helper import LiveServer

SOCKETS = 600
PER_ADDRESS = 32  # limit_conn in the site config
ATTACKER = "127.0.0.2"  # /healthz is asked from 127.0.0.1, another client


@pytest.fixture
def nginx_port(live_server: LiveServer, tmp_path: Path) -> Iterator[int]:
    upstream = live_server.url.removeprefix("http://").replace("localhost", "127.0.0.1")
    port = free_port()
    site = render_site_config(
        port=port, upstream=upstream, media_root=Path(django_settings.MEDIA_ROOT)
    )
    main = write_main_config(tmp_path, site, connections=4 * SOCKETS)
    process = subprocess.Popen(
        nginx_command(main, tmp_path, "-g", "daemon off;"),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )

    def answers() -> bool:
        try:
            return healthz_status(port, timeout=5) == 200
        except OSError:
            return False

    try:
        assert wait_until(answers, timeout=30)
        yield port
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.mark.django_db(transaction=True)
def test_600_slow_bodies_through_nginx_leave_the_service_answering(nginx_port: int) -> None:
    sockets = []
    try:
        sockets = slow_posts(nginx_port, SOCKETS, source=ATTACKER)
        early = first_status_lines(sockets, timeout=30, enough=SOCKETS - PER_ADDRESS)
        assert set(early.values()) == {"HTTP/1.1 429 Too Many Requests"}
        held = [sock for sock in sockets if sock not in early]
        assert len(held) == PER_ADDRESS
        # nginx holds those bodies; the app behind is free, and answers within a second.
        assert [healthz_status(nginx_port) for _ in range(5)] == [200] * 5
        # A client that sends nothing more for client_body_timeout (10 s) is dropped.
        late = first_status_lines(held, timeout=30)
        assert len(late) == PER_ADDRESS
        assert set(late.values()) <= {"HTTP/1.1 408 Request Time-out", "closed"}
    finally:
        for sock in sockets:
            sock.close()
