"""The servers a benchmark talks to: the project as ``make run`` starts it, and nginx.

Both listen on a free port of 127.0.0.1 only, run in the foreground under this process
and are stopped by it.
"""

from __future__ import annotations

import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bench.common import BASE_DIR, BENCH_DIR

if TYPE_CHECKING:
    from types import TracebackType

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
PASSWORD = "bench-password-7f3a!"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait_for(port: int, path: str, *, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            connection.request("GET", path)
            if connection.getresponse().status < 500:
                return
        except OSError:
            pass
        time.sleep(0.3)
    raise RuntimeError(f"nothing answered on port {port} within {timeout} s")


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


class Project:
    """``python -m config.serve`` (web, worker, beat) with a private VAR_DIR and port."""

    def __init__(self, name: str, *, env: dict[str, str] | None = None) -> None:
        self.var_dir = BENCH_DIR / name
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.extra_env = env or {}
        self.process: subprocess.Popen[bytes] | None = None
        self.token = ""

    def _env(self) -> dict[str, str]:
        env = {**os.environ, "VAR_DIR": str(self.var_dir), "PORT": str(self.port)}
        env["DJANGO_ENV"] = "development"
        env["SITE_URL"] = self.url
        for name in ("DATABASE_URL", "MEDIA_ROOT", "CELERY_BROKER_URL", "REDIS_URL"):
            env.pop(name, None)
        return {**env, **self.extra_env}

    def __enter__(self) -> Project:
        shutil.rmtree(self.var_dir, ignore_errors=True)
        self.var_dir.mkdir(parents=True)
        subprocess.run(
            [sys.executable, "manage.py", "migrate", "--noinput", "-v0"],
            cwd=BASE_DIR,
            env=self._env(),
            check=True,
        )
        log = (self.var_dir / "serve.log").open("wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "config.serve"],
            cwd=BASE_DIR,
            env=self._env(),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        _wait_for(self.port, "/healthz")
        self.api("POST", "/api/auth/register/", {"username": "bench", "password": PASSWORD})
        answer = self.api("POST", "/api/auth/token/", {"username": "bench", "password": PASSWORD})
        self.token = answer["token"]
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        if self.process is not None:
            _stop(self.process)
        shutil.rmtree(self.var_dir / "media", ignore_errors=True)

    def api(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        """One JSON call with the bench user's token; raises on a 4xx or 5xx."""
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        headers = {"Content-Type": "application/json"}
        if self.token:
            headers["Authorization"] = f"Token {self.token}"
        connection.request(method, path, json.dumps(body) if body else None, headers)
        response = connection.getresponse()
        data = response.read()
        if response.status >= 400:
            raise RuntimeError(f"{method} {path}: {response.status} {data[:300]!r}")
        return json.loads(data) if data else None

    def upload(self, files: list[Path], *, name: str) -> dict[str, Any]:
        """Upload ``files`` as one archive through the multipart API (curl streams them)."""
        command = [
            "curl", "-sS", "--fail-with-body", "-H", "Expect:",
            "-H", f"Authorization: Token {self.token}",
            "-F", f"name={name}",
        ]  # fmt: skip
        for path in files:
            command += ["-F", f"files=@{path};type=application/octet-stream"]
        result = subprocess.run(
            [*command, f"{self.url}/api/archives/"], capture_output=True, check=True
        )
        return json.loads(result.stdout)

    def wait_ready(self, archive_id: str, *, timeout: float = 1800) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            archive = self.api("GET", f"/api/archives/{archive_id}/")
            if archive["status"] == "ready":
                return archive
            if archive["status"] not in {"pending", "building"}:
                raise RuntimeError(f"build ended {archive['status']}: {archive['error']}")
            time.sleep(0.05)
        raise RuntimeError(f"archive {archive_id} not ready after {timeout} s")

    def download_path(self, archive: dict[str, Any]) -> str:
        return f"/api/shares/{archive['slug']}/download"

    def zip_file(self, archive_id: str) -> Path:
        return self.var_dir / "media" / "archives" / f"{archive_id}.zip"

    def web_pids(self) -> list[int]:
        """The gunicorn processes (master and workers) of this stack."""
        assert self.process is not None
        return [pid for pid in descendants(self.process.pid) if b"gunicorn" in _cmdline(pid)]


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


def descendants(root: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(entry.name))
    found: list[int] = []
    todo = [root]
    while todo:
        pid = todo.pop()
        for child in children.get(pid, []):
            found.append(child)
            todo.append(child)
    return found


def rss_of(pids: list[int]) -> int:
    """Resident bytes of ``pids`` together (processes gone count 0)."""
    total = 0
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) * 1024
        except OSError:
            continue
    return total


NGINX_CONFIG = """
daemon off;
master_process on;
worker_processes 2;
{user}
pid {root}/nginx.pid;
error_log {root}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    sendfile on;
    tcp_nopush on;
    keepalive_requests 100000;
    client_body_temp_path {root}/body;
    proxy_temp_path {root}/proxy;
    fastcgi_temp_path {root}/fastcgi;
    uwsgi_temp_path {root}/uwsgi;
    scgi_temp_path {root}/scgi;
    types {{ application/zip zip; }}
    default_type application/octet-stream;
    server {{
        listen 127.0.0.1:{port};
        location /files/ {{
            alias {files}/;
        }}
        location /upload/ {{
            root {root};
            dav_methods PUT;
            create_full_put_path on;
            client_max_body_size 0;
            client_body_buffer_size 1m;
        }}
    }}
}}
"""


class Nginx:
    """Debian's nginx serving ``files`` under /files/ (sendfile) and taking PUTs under
    /upload/ (the body written to a file, then renamed)."""

    def __init__(self, files: Path) -> None:
        self.root = BENCH_DIR / "nginx"
        self.files = files
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> Nginx:
        shutil.rmtree(self.root, ignore_errors=True)
        (self.root / "upload").mkdir(parents=True)
        (self.root / "body").mkdir()
        config = self.root / "nginx.conf"
        config.write_text(
            NGINX_CONFIG.format(
                user="user root;" if os.geteuid() == 0 else "",
                root=self.root,
                port=self.port,
                files=self.files,
            )
        )
        self.process = subprocess.Popen(
            [NGINX, "-c", str(config), "-p", str(self.root)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        _wait_for(self.port, "/files/")
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        if self.process is not None:
            _stop(self.process)
        shutil.rmtree(self.root, ignore_errors=True)


def curl_get(url: str, *, extra: list[str] | None = None) -> tuple[int, int, float]:
    """GET ``url`` into /dev/null; return status, bytes and seconds (as curl measured)."""
    result = subprocess.run(
        ["curl", "-sS", "-o", "/dev/null", "-w", "%{http_code} %{size_download} %{time_total}",
         *(extra or []), url],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    status, size, seconds = result.stdout.split()
    return int(status), int(size), float(seconds)


def curl_put(url: str, path: Path) -> float:
    start = time.perf_counter()
    subprocess.run(
        ["curl", "-sS", "--fail", "-H", "Expect:", "-o", "/dev/null", "-T", str(path), url],
        check=True,
    )
    return time.perf_counter() - start
