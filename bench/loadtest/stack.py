"""The processes a load test runs against, all on this machine and on loopback only:
moto's S3 server (a thread of this process), two gunicorn servers, two Celery workers and
beat on PostgreSQL and Redis, and nginx with the site config of deploy/nginx/ in front of
both gunicorns. Each process has its own process group, so a kill takes all of it."""

from __future__ import annotations

import logging
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

import boto3
import psycopg
import redis
from celery import Celery
from moto.server import ThreadedMotoServer
from psycopg import sql

from bench.common import BASE_DIR
from bench.servers import _wait_for, descendants, free_port

if TYPE_CHECKING:
    from types import TracebackType

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
TEMPLATE = BASE_DIR / "deploy/nginx/templates/default.conf.template"
REGION = "us-east-1"
S3_KEY, S3_SECRET = "loadtest-key", "loadtest-secret"


@dataclass
class Settings:
    """What a run is pointed at; the environment may change each (LOADTEST_*)."""

    database_url: str = os.environ.get(
        "LOADTEST_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/awaiting_loadtest"
    )
    redis_url: str = os.environ.get("LOADTEST_REDIS_URL", "redis://127.0.0.1:6379/13")
    state_dir: Path = field(
        default_factory=lambda: Path(
            os.environ.get("LOADTEST_STATE_DIR") or BASE_DIR / "var/loadtest/state"
        )
    )
    web_threads: int = int(os.environ.get("LOADTEST_WEB_THREADS", "16"))
    worker_concurrency: int = int(os.environ.get("LOADTEST_WORKER_CONCURRENCY", "1"))


def _reset_database(url: str) -> None:
    """Drop and create the run's database (a database of its own, never a shared one)."""
    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    if not re.fullmatch(r"\w+", name):
        raise ValueError(f"not a plain database name: {name!r}")
    maintenance = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(maintenance, autocommit=True) as connection:
        database = sql.Identifier(name)
        connection.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(database))
        connection.execute(sql.SQL("CREATE DATABASE {}").format(database))


def _wait_log(process: subprocess.Popen[bytes], log: Path, text: bytes, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while text not in log.read_bytes():
        if process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"{log.name}: did not start\n{log.read_text()[-3000:]}")
        time.sleep(0.2)


def _stat(pid: int | str) -> tuple[str, int]:
    """The command name of process ``pid`` and the CPU ticks (user and system) it has
    used; ("", 0) once it is gone."""
    try:
        head, fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)
    except OSError:
        return "", 0
    parts = fields.split()
    return head.split("(", 1)[1], int(parts[11]) + int(parts[12])


def _cpu_ticks(root: int) -> int:
    """CPU ticks of ``root`` and its descendants."""
    return sum(_stat(pid)[1] for pid in [root, *descendants(root)])


def _ticks_by_command(*names: str) -> dict[str, int]:
    """CPU ticks of the processes of each command of ``names`` (PostgreSQL's and Redis's
    servers, which this machine runs outside the stack), in one look over /proc."""
    totals = dict.fromkeys(names, 0)
    for entry in Path("/proc").iterdir():
        command, ticks = _stat(entry.name) if entry.name.isdigit() else ("", 0)
        if command in totals:
            totals[command] += ticks
    return totals


TICKS_PER_SECOND = os.sysconf("SC_CLK_TCK")


class Stack:
    """Everything started in ``__enter__`` and stopped in ``__exit__``."""

    def __init__(self, settings: Settings | None = None) -> None:
        self.settings = settings or Settings()
        self.root = self.settings.state_dir
        self.media = self.root / "media"
        self.moto: ThreadedMotoServer | None = None
        self.s3_endpoint = ""
        # moto keeps its buckets per process, not per server: each stack has its own.
        self.bucket = f"loadtest-{secrets.token_hex(4)}"
        self.web: list[subprocess.Popen[bytes]] = []
        self.workers: list[subprocess.Popen[bytes]] = []
        self.others: list[subprocess.Popen[bytes]] = []
        self.web_ports: list[int] = []
        self.nginx_port = 0

    # The environment of every app process: production settings, S3 in moto's server.
    def env(self, **extra: str) -> dict[str, str]:
        env = {
            **os.environ,
            "DJANGO_ENV": "production",
            "SECRET_KEY": "loadtest-only-" + "x" * 40,
            "SECURE_SSL_REDIRECT": "false",
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "SITE_URL": f"http://127.0.0.1:{self.nginx_port}",
            "CSRF_TRUSTED_ORIGINS": f"http://127.0.0.1:{self.nginx_port}",
            "VAR_DIR": str(self.root / "var"),
            "MEDIA_ROOT": str(self.media),
            "DATABASE_URL": self.settings.database_url,
            "DATABASE_CONN_MAX_AGE": "60",
            "CELERY_BROKER_URL": self.settings.redis_url,
            "STORAGE_BACKEND": "s3",
            "AWS_STORAGE_BUCKET_NAME": self.bucket,
            "AWS_S3_ENDPOINT_URL": self.s3_endpoint,
            "AWS_S3_REGION_NAME": REGION,
            "AWS_ACCESS_KEY_ID": S3_KEY,
            "AWS_SECRET_ACCESS_KEY": S3_SECRET,
            "AWS_S3_ADDRESSING_STYLE": "path",
            "DOWNLOAD_ACCEL": "none",
            # nginx is the only proxy: the address it forwards is the client's.
            "TRUSTED_PROXIES": "127.0.0.1/32",
            "WEB_WORKERS": "1",
            "WEB_THREADS": str(self.settings.web_threads),
            "LOG_LEVEL": "WARNING",
            # A build whose worker died is queued again after this long without a
            # heartbeat (beat looks every minute).
            "BUILD_STALL_SECONDS": "20",
            "PYTHONPATH": str(BASE_DIR),
        }
        for name in ("REDIS_URL", "PROMETHEUS_MULTIPROC_DIR", "CELERY_TASK_ALWAYS_EAGER"):
            env.pop(name, None)
        return {**env, **extra}

    def _start(self, name: str, command: list[str], **extra: str) -> subprocess.Popen[bytes]:
        log = self.root / "logs" / f"{name}.log"
        with log.open("wb") as output:
            return subprocess.Popen(
                command,
                cwd=BASE_DIR,
                env=self.env(**extra),
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def run_module(self, module: str, *args: str) -> str:
        """What ``python -m module args`` prints, run in the app's environment."""
        return subprocess.run(
            [sys.executable, "-m", module, *args], cwd=BASE_DIR, env=self.env(), check=True,
            capture_output=True, text=True,
        ).stdout  # fmt: skip

    def _manage(self, *args: str) -> None:
        subprocess.run(
            [sys.executable, "manage.py", *args], cwd=BASE_DIR, env=self.env(), check=True
        )

    def __enter__(self) -> Stack:
        shutil.rmtree(self.root, ignore_errors=True)
        (self.root / "logs").mkdir(parents=True)
        self.media.mkdir()
        _reset_database(self.settings.database_url)
        redis.Redis.from_url(self.settings.redis_url).flushdb()
        self._start_s3()
        self.nginx_port = free_port()
        self._manage("migrate", "--noinput", "-v0")
        self._manage("collectstatic", "--noinput", "-v0")
        self.web_ports = [free_port(), free_port()]
        for number, port in enumerate(self.web_ports, start=1):
            self.web.append(
                self._start(
                    f"web{number}",
                    [
                        sys.executable,
                        "-m",
                        "gunicorn",
                        "-c",
                        "config/gunicorn.py",
                        "config.wsgi",
                        "--bind",
                        f"127.0.0.1:{port}",
                    ],
                )
            )
        for number in (1, 2):
            worker = self._start(
                f"worker{number}",
                [sys.executable, "-m", "celery", "-A", "config", "worker", "--loglevel", "INFO",
                 "--hostname", f"worker{number}@loadtest",
                 "--concurrency", str(self.settings.worker_concurrency)],
            )  # fmt: skip
            self.workers.append(worker)
        self.others.append(
            self._start(
                "beat",
                [
                    sys.executable,
                    "-m",
                    "celery",
                    "-A",
                    "config",
                    "beat",
                    "--loglevel",
                    "INFO",
                    "--schedule",
                    str(self.root / "celerybeat-schedule"),
                ],
            )
        )
        for port in self.web_ports:
            _wait_for(port, "/healthz")
        for number, worker in enumerate(self.workers, start=1):
            _wait_log(worker, self.root / "logs" / f"worker{number}.log", b" ready.", 90)
        self._start_nginx()
        return self

    def _start_s3(self) -> None:
        port = free_port()
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
        self.moto = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
        self.moto.start()
        self.s3_endpoint = f"http://127.0.0.1:{port}"
        self.s3().create_bucket(Bucket=self.bucket)

    def s3(self) -> Any:  # boto3 makes its client classes at run time
        return boto3.client(
            "s3",
            endpoint_url=self.s3_endpoint,
            region_name=REGION,
            aws_access_key_id=S3_KEY,
            aws_secret_access_key=S3_SECRET,
        )

    def _start_nginx(self) -> None:
        """The site template rendered as the nginx image does, its one upstream server
        turned into the two gunicorns."""
        prefix = self.root / "nginx"
        prefix.mkdir()
        first, second = (f"127.0.0.1:{port}" for port in self.web_ports)
        values = {"NGINX_PORT": f"127.0.0.1:{self.nginx_port}", "APP_UPSTREAM": first,
                  "MEDIA_ROOT": str(self.media)}  # fmt: skip
        site = re.sub(r"\$\{(\w+)\}", lambda match: values[match[1]], TEMPLATE.read_text())
        # Each gunicorn stands for a Service of several pods, as the ingress controller
        # sees it (ingress-nginx's upstream-max-fails is 0): one failed request must not
        # take a whole replica out of the upstream for fail_timeout.
        site = site.replace(
            f"server {first};",
            f"server {first} max_fails=0;\n    server {second} max_fails=0;",
            1,
        )
        (prefix / "site.conf").write_text(site)
        user = "user root;\n" if os.geteuid() == 0 else ""
        main = prefix / "nginx.conf"
        main.write_text(
            f"{user}worker_processes 1;\npid {prefix}/nginx.pid;\n"
            f"error_log {prefix}/error.log warn;\n"
            "events { worker_connections 4096; }\n"
            "http {\n"
            "    default_type application/octet-stream;\n"
            '    log_format timed \'$remote_addr $status $request_time $msec "$request" '
            "$upstream_addr';\n"
            f"    access_log {prefix}/access.log timed;\n"
            f"    client_body_temp_path {prefix}/body;\n"
            f"    proxy_temp_path {prefix}/proxy;\n"
            f"    fastcgi_temp_path {prefix}/fastcgi;\n"
            f"    uwsgi_temp_path {prefix}/uwsgi;\n"
            f"    scgi_temp_path {prefix}/scgi;\n"
            f"    include {prefix}/site.conf;\n"
            "}\n"
        )
        self.others.append(
            self._start(
                "nginx",
                [
                    NGINX,
                    "-p",
                    f"{prefix}/",
                    "-e",
                    f"{prefix}/error.log",
                    "-c",
                    str(main),
                    "-g",
                    "daemon off;",
                ],
            )
        )
        _wait_for(self.nginx_port, "/healthz")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.nginx_port}"

    @property
    def access_log(self) -> Path:
        return self.root / "nginx" / "access.log"

    def cpu_seconds(self, locust: int | None = None) -> dict[str, float]:
        """CPU seconds used so far by each part of the stack: this process (moto's S3
        server is one of its threads), the two gunicorns, the workers, beat, nginx,
        PostgreSQL and Redis, and Locust's process ``locust`` when given. A process
        killed or ended takes its seconds with it."""
        beat, nginx = self.others[0].pid, self.others[-1].pid
        servers = _ticks_by_command("postgres", "redis-server")
        ticks = {
            "harness and moto": _stat(os.getpid())[1],
            "gunicorn": sum(_cpu_ticks(process.pid) for process in self.web),
            "celery workers": sum(_cpu_ticks(process.pid) for process in self.workers),
            "celery beat": _cpu_ticks(beat),
            "nginx": _cpu_ticks(nginx),
            "postgresql": servers["postgres"],
            "redis": servers["redis-server"],
        }
        if locust is not None:
            ticks["locust"] = _cpu_ticks(locust)
        # The machine's own count: its busy time (every process, this run's and any
        # other's), and the time its virtual CPUs waited for the host (steal).
        fields = [int(value) for value in Path("/proc/stat").read_text().split()[1:9]]
        ticks["machine busy"] = sum(fields) - fields[3] - fields[4]  # not idle, not iowait
        ticks["machine steal"] = fields[7]
        return {part: used / TICKS_PER_SECOND for part, used in ticks.items()}

    def kill_web_process(self) -> int:
        """SIGKILL the process of the first gunicorn that serves requests (its master
        starts a new one); return its pid."""
        pid = descendants(self.web[0].pid)[0]
        os.kill(pid, signal.SIGKILL)
        return pid

    def kill_worker(self, worker: subprocess.Popen[bytes] | None = None) -> int:
        """SIGKILL a Celery worker with its pool, as a node losing it would: ``worker``,
        else the busiest (the one with a build on its CPU, if any); return its pid."""
        if worker is None:
            before = [_cpu_ticks(each.pid) for each in self.workers]
            time.sleep(0.5)
            busy = [
                _cpu_ticks(each.pid) - ticks
                for each, ticks in zip(self.workers, before, strict=True)
            ]
            worker = self.workers[busy.index(max(busy))]
        os.killpg(worker.pid, signal.SIGKILL)
        worker.wait()
        return worker.pid

    def worker_building(self, archive_id: str) -> subprocess.Popen[bytes] | None:
        """The worker whose running tasks include the build of ``archive_id`` (asked
        through Celery's remote control), or None."""
        control = Celery(broker=self.settings.redis_url)
        try:
            replies = control.control.inspect(timeout=2.0).active() or {}
        finally:
            control.close()
        for hostname, tasks in replies.items():
            if any(archive_id in task.get("args", ()) for task in tasks):
                # The workers are named worker1@loadtest, worker2@loadtest, in order.
                return self.workers[int(hostname.split("@")[0].removeprefix("worker")) - 1]
        return None

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        for process in [*self.others, *self.web, *self.workers]:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in [*self.others, *self.web, *self.workers]:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        if self.moto is not None:
            self.moto.stop()
