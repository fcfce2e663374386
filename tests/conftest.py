"""Fixtures for the whole suite (the only conftest)."""

from __future__ import annotations

import contextlib
import errno
import http.client
import os
import selectors
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, cast

import pytest
from django.conf import settings
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.db import connection
from django.utils import timezone
from playwright.sync_api import expect, sync_playwright
from rest_framework.test import APIClient

from accounts.services import issue_token
from archives.models import Archive, Status
from archives.services import create_archive
from archives.tasks import build_archive_task, remove_archive_files_task, remove_sources_task
from config.local_state import prepare_local_state
from tests.browser import support
from tests.factories import UserFactory

if TYPE_CHECKING:
    from collections.abc import Callable, Generator

    from django.http import StreamingHttpResponse
    from playwright.sync_api import Browser, Page
    from pytest_django.fixtures import Settings as DjangoSettings
    from pytest_django.live_server_helper import LiveServer

    from accounts.models import User

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
BASE_DIR = Path(__file__).resolve().parent.parent


def pytest_configure(config: pytest.Config) -> None:
    # What make run and manage.py make under var/ before anything reads the settings.
    prepare_local_state()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Server tests need PostgreSQL or Redis; outside CI they skip when those are not in use,
    in CI such a skip is a failure (see ``_fail_skip_in_ci``)."""
    uses_servers = _database_is_postgres() or settings.CELERY_BROKER_URL.startswith("redis")
    for item in items:
        if item.get_closest_marker("server") and not uses_servers:
            item.add_marker(
                pytest.mark.skip(reason="needs PostgreSQL/Redis (tests/run.sh sets them)")
            )


def _fail_skip_in_ci(report: pytest.TestReport | pytest.CollectReport) -> None:
    """CI installs every tool and starts every server the suite needs (.ci/run), so there a
    skip (a missing binary, server or mount; a whole module) proves nothing and fails."""
    if IN_CI and report.skipped and not hasattr(report, "wasxfail"):
        report.outcome = "failed"
        report.longrepr = f"skipped in CI: {report.longrepr}"


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    _fail_skip_in_ci(report)
    return report


@pytest.hookimpl(wrapper=True)
def pytest_make_collect_report(
    collector: pytest.Collector,
) -> Generator[None, pytest.CollectReport, pytest.CollectReport]:
    report = yield
    _fail_skip_in_ci(report)
    return report


def _database_is_postgres() -> bool:
    return settings.DATABASES["default"]["ENGINE"].endswith("postgresql")


@pytest.fixture(scope="session")
def media_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("media")


@pytest.fixture(autouse=True)
def _media_root(settings: DjangoSettings, media_dir: Path) -> Iterator[None]:
    """Every test stores files in an empty media folder, removed afterwards."""
    settings.MEDIA_ROOT = str(media_dir)
    yield
    for child in media_dir.iterdir():
        shutil.rmtree(child) if child.is_dir() else child.unlink()


@pytest.fixture(autouse=True)
def _empty_cache() -> Iterator[None]:
    """django-allauth counts its rate limits in the cache: no test leaves a count behind."""
    yield
    cache.clear()


class MediaMount:
    """A small file system mounted as ``MEDIA_ROOT`` that a test can make read-only, so
    removing a stored file fails as on a disk gone read-only (even for root), or fill,
    so storing one fails with ``ENOSPC``."""

    FILLER = ".filler"

    def __init__(self, path: Path) -> None:
        self.path = path

    def fill(self) -> None:
        """Take every free byte of the mount with a file of its own (``FILLER``), as
        other files fill a disk; the next write to the mount fails with ``ENOSPC``."""
        block = b"\0" * 65536
        with (self.path / self.FILLER).open("ab", buffering=0) as handle:
            try:
                while True:
                    # A short write takes the last bytes; the next one fails.
                    handle.write(block)
            except OSError as exc:
                if exc.errno != errno.ENOSPC:
                    raise

    def stored_files(self) -> list[str]:
        """The files on the mount but the filler, relative to it, sorted."""
        return sorted(
            str(path.relative_to(self.path))
            for path in self.path.rglob("*")
            if path.is_file() and path.name != self.FILLER
        )

    def _remount(self, mode: str) -> None:
        subprocess.run(["mount", "-o", f"remount,{mode}", str(self.path)], check=True)

    @contextlib.contextmanager
    def read_only(self) -> Iterator[None]:
        """Within the block every write to the mount fails with ``EROFS``."""
        self._remount("ro")
        try:
            yield
        finally:
            self._remount("rw")


@pytest.fixture
def queued_removals(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, list[str]]]:
    """The file removals queued (``remove_archive_files_task``: archive id and names),
    kept here instead of sent to a broker."""
    queued: list[tuple[str, list[str]]] = []
    monkeypatch.setattr(
        remove_archive_files_task, "delay", lambda *arguments: queued.append(arguments)
    )
    return queued


@contextlib.contextmanager
def tmpfs(mount_point: Path, *, size: str) -> Iterator[Path]:
    """A tmpfs of ``size`` (mount's notation: ``16m``) mounted at ``mount_point``, a new
    folder, for the block. Skips where mounting is refused; in CI that skip fails."""
    mount_point.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(mount_point)],
        capture_output=True,
        text=True,
        check=False,
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs: {mounted.stderr}")
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], check=False)


@pytest.fixture
def media_mount(settings: DjangoSettings, tmp_path: Path) -> Iterator[MediaMount]:
    """``MEDIA_ROOT`` on a file system of its own (see ``MediaMount``)."""
    with tmpfs(tmp_path / "media", size="16m") as mount_point:
        settings.MEDIA_ROOT = str(mount_point)
        yield MediaMount(mount_point)


@pytest.fixture(autouse=True)
def _sources_removed_in_process(monkeypatch: pytest.MonkeyPatch) -> None:
    """The removal of a built archive's sources, queued once it is ready, runs at once in
    the test's own process, as a worker runs it (``tests/archives/test_worker.py`` and the
    fault tests see real workers do it)."""
    monkeypatch.setattr(remove_sources_task, "delay", remove_sources_task)


@pytest.fixture
def password() -> str:
    return "correct horse battery staple"


@pytest.fixture
def user(db: None, password: str) -> User:
    return UserFactory(password=password)


@pytest.fixture
def other_user(db: None) -> User:
    return UserFactory()


@pytest.fixture
def api(user: User) -> APIClient:
    """An API client logged in with ``user``'s token."""
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {issue_token(user)}")
    return client


@pytest.fixture
def anon() -> APIClient:
    return APIClient()


def streamed_body(response: object) -> bytes:
    """The whole body of a streaming (file) response from the test client."""
    content = cast("StreamingHttpResponse", response).streaming_content
    assert isinstance(content, Iterator), "the test client streams synchronously"
    return b"".join(content)


def upload(name: str, content: bytes) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type="application/octet-stream")


@pytest.fixture
def make_archive(user: User) -> Callable[..., Archive]:
    """Create an archive through the service, built at once unless ``build=False``."""

    def make(
        files: dict[str, bytes] | None = None,
        *,
        owner: User | None = None,
        build: bool = True,
        name: str = "Holiday photos",
        password: str = "",
        ttl: int = 3600,
        max_downloads: int | None = None,
    ) -> Archive:
        contents = files or {"notes.txt": b"hello world\n" * 100}
        archive = create_archive(
            owner or user,
            files=[upload(file_name, data) for file_name, data in contents.items()],
            name=name,
            description="",
            password=password,
            ttl=ttl,
            max_downloads=max_downloads,
            now=timezone.now(),
        )
        if build:
            # As a worker runs it: the build, then the removal of its sources is queued.
            build_archive_task(archive.id)
        return Archive.objects.get(pk=archive.pk)

    return make


def _database_url() -> str:
    """A URL of the test database as the test session created it, for other processes."""
    db = connection.settings_dict
    if db["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{db['NAME']}"
    auth = db["USER"] + (f":{db['PASSWORD']}" if db.get("PASSWORD") else "")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def _purge_broker() -> None:
    if settings.CELERY_BROKER_URL.startswith("filesystem://"):
        for message in (settings.BROKER_DIR / "queue").glob("*"):
            message.unlink(missing_ok=True)
        return
    from config.celery import app

    app.control.purge()


def service_env(media_dir: Path, **overrides: str) -> dict[str, str]:
    """The environment of a process serving the test database, media and broker."""
    return {
        **os.environ,
        "DJANGO_ENV": "test",
        "DATABASE_URL": _database_url(),
        "MEDIA_ROOT": str(media_dir),
        "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
        "VAR_DIR": str(settings.VAR_DIR),
        **overrides,
    }


def start_process(
    command: list[str], *, env: dict[str, str], log: Path, ready: bytes
) -> subprocess.Popen[bytes]:
    """Start ``command`` in its own process group; return once its log shows ``ready``."""
    with log.open("wb") as output:
        process = subprocess.Popen(
            command,
            cwd=BASE_DIR,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    deadline = time.monotonic() + 60
    while ready not in log.read_bytes():
        if process.poll() is not None or time.monotonic() > deadline:
            stop_process(process)
            pytest.fail(f"{command[2:5]} did not start:\n{log.read_text()}")
        time.sleep(0.1)
    return process


def stop_process(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def worker_command(*, pool: str = "prefork") -> list[str]:
    return [
        sys.executable, "-m", "celery", "-A", "config", "worker",
        "--loglevel", "INFO", "--pool", pool, "--concurrency", "2",
        "--without-gossip", "--without-mingle", "--without-heartbeat",
    ]  # fmt: skip


def web_command(port: int) -> list[str]:
    """gunicorn as `make run` starts it (threads, sendfile), on ``port``."""
    return [
        sys.executable, "-m", "gunicorn", "-c", "config/gunicorn.py", "config.wsgi",
        "--bind", f"127.0.0.1:{port}", "--workers", "1", "--threads", "4",
    ]  # fmt: skip


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def gunicorn(media_dir: Path, tmp_path: Path, transactional_db: None) -> Iterator[str]:
    """The project behind gunicorn (threads, sendfile), as `make run` serves it."""
    port = free_port()
    process: subprocess.Popen[bytes] = start_process(
        web_command(port), env=service_env(media_dir), log=tmp_path / "web.log",
        ready=b"Booting worker",
    )  # fmt: skip
    yield f"http://127.0.0.1:{port}"
    stop_process(process)


@pytest.fixture(scope="module")
def live_worker(
    django_db_setup: None,
    django_db_blocker: object,
    media_dir: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[subprocess.Popen[bytes]]:
    """A real Celery worker process on the test database and broker, for one module (so
    the fault tests, which run their own workers, never share the queue with it)."""
    _purge_broker()
    process = start_process(
        worker_command(),
        env=service_env(media_dir),
        log=tmp_path_factory.mktemp("worker") / "worker.log",
        ready=b" ready.",
    )
    yield process
    stop_process(process)


def wait_for_build(archive_id: str, *, timeout: float = 60) -> Archive:
    """Poll until the archive leaves pending/building; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        archive = Archive.objects.get(pk=archive_id)
        if archive.status not in {Status.PENDING, Status.BUILDING}:
            return archive
        time.sleep(0.1)
    pytest.fail(f"archive {archive_id} still {archive.status} after {timeout} s")


def wait_until(condition: Callable[[], bool], *, timeout: float = 10) -> bool:
    """Poll ``condition`` until it holds; False if it still does not after ``timeout``
    seconds (for what another process does after a state the test waited for)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.1)
    return True


# Browser tests (tests/browser/): one Chromium per module, a fresh context per page.


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Debian's Chromium through Playwright, with the compiled Russian catalogue the pages
    need. Playwright's sync API keeps an event loop in this thread, so Django would refuse
    the tests' own (synchronous) ORM calls; they are safe here, nothing else runs in it."""
    call_command(
        "compilemessages",
        locale=["ru"],
        ignore_patterns=[".venv", "node_modules", "var"],
        verbosity=0,
    )
    support.ARTIFACTS.mkdir(exist_ok=True)
    # Assertions wait as long as actions do: the suite's other pass shares the cores.
    expect.set_options(timeout=support.TIMEOUT)
    with pytest.MonkeyPatch.context() as patch, sync_playwright() as playwright:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        chromium = playwright.chromium.launch(
            executable_path=support.CHROMIUM, args=support.CHROMIUM_ARGS
        )
        yield chromium
        chromium.close()


@pytest.fixture
def open_page(browser: Browser, live_server: LiveServer) -> Iterator[Callable[..., Page]]:
    """Open a page in a fresh browser context; afterwards check that no request left
    the loopback host, no script failed, nothing broke the Content-Security-Policy and no
    dialog (an injected ``alert``) opened."""
    watches: list[support.PageWatch] = []
    contexts = []

    def open_(
        *, locale: str = "en-US", width: int = 1280, height: int = 900, host: str = "127.0.0.1"
    ) -> Page:
        # WebAuthn wants a host name: "localhost" is a secure context, an address is not.
        context = browser.new_context(
            base_url=live_server.url.replace("127.0.0.1", host),
            locale=locale,
            viewport={"width": width, "height": height},
            accept_downloads=True,
        )
        context.set_default_timeout(support.TIMEOUT)
        context.add_init_script(support.PROGRESS_RECORDER)
        contexts.append(context)
        page = context.new_page()
        watches.append(support.PageWatch(page))
        return page

    yield open_
    for context in contexts:
        context.close()
    for watch in watches:
        assert watch.foreign_hosts() == set(), watch.urls
        assert watch.errors == []
        assert watch.dialogs == []


def slow_posts(port: int, count: int, *, source: str = "127.0.0.1") -> list[socket.socket]:
    """``count`` connections to ``port``, each with a POST announcing a 100 kB body and
    sending its first byte only."""
    sockets = []
    for _ in range(count):
        sock = socket.create_connection(("127.0.0.1", port), source_address=(source, 0))
        sockets.append(sock)
        sock.sendall(
            b"POST /api/auth/token/ HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"Content-Type: application/json\r\nContent-Length: 100000\r\n\r\n{"
        )
    return sockets


def first_status_lines(
    sockets: list[socket.socket], *, timeout: float, enough: int | None = None
) -> dict[socket.socket, str]:
    """The status line each socket got within ``timeout`` ("closed" if none came), or as
    soon as ``enough`` of them have one."""
    answers: dict[socket.socket, str] = {}
    selector = selectors.DefaultSelector()
    for sock in sockets:
        selector.register(sock, selectors.EVENT_READ)
    deadline = time.monotonic() + timeout
    while selector.get_map() and time.monotonic() < deadline and len(answers) < (enough or 1 << 30):
        for key, _ in selector.select(0.2):
            sock = key.fileobj
            assert isinstance(sock, socket.socket)
            try:
                data = sock.recv(200)
            except OSError:
                data = b""
            answers[sock] = data.split(b"\r\n")[0].decode() or "closed"
            selector.unregister(sock)
    return answers


def healthz_status(port: int, *, timeout: float = 1) -> int:
    """/healthz's status; the client gives up after ``timeout`` seconds."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        connection.request("GET", "/healthz")
        return connection.getresponse().status
    finally:
        connection.close()
