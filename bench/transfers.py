"""Downloads and uploads through the project's real stack against nginx, in the same run.

The project runs as ``make run`` starts it (``python -m config.serve``: gunicorn with
config/gunicorn.py, a Celery worker and beat) with its own VAR_DIR and port; archives go
through the real API (register, token, multipart upload, build, share download). nginx
serves the very same ZIP file with sendfile, and takes the same bytes as a PUT body it
writes to a file. curl is the client on both sides.
"""

from __future__ import annotations

import http.client
import os
import random
import shutil
import subprocess
import threading
import time
from contextlib import ExitStack, contextmanager
from typing import TYPE_CHECKING, Any

from bench.common import (
    BENCH_DIR,
    GIB,
    MIB,
    RUNS,
    Result,
    fresh_dir,
    log_pool,
    logger,
    median_of,
    scaled,
    write_random,
    write_text,
)
from bench.servers import Nginx, Project, curl_get, curl_put, rss_of

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

SERVE_DIR = BENCH_DIR / "serve"
PROBE_TIMEOUT = 30.0


@contextmanager
def stack_with_archive(size: int) -> Iterator[tuple[Project, Nginx, dict[str, Any], str]]:
    """A running project holding one ready archive of ``size`` random bytes, and nginx
    serving the same ZIP file; yields both, the archive and the ZIP's name for nginx."""
    data = fresh_dir("data/transfer")
    serve = fresh_dir("serve")
    payload = data / "payload.bin"
    write_random(payload, size)
    with ExitStack() as stack:
        project = stack.enter_context(Project("stack-transfer"))
        archive = project.upload([payload], name="bench")
        archive = project.wait_ready(archive["id"])
        payload.unlink()
        name = f"{archive['id']}.zip"
        os.link(project.zip_file(archive["id"]), serve / name)
        nginx = stack.enter_context(Nginx(serve))
        try:
            yield project, nginx, archive, name
        finally:
            shutil.rmtree(serve, ignore_errors=True)
            shutil.rmtree(data, ignore_errors=True)


def _throughput(name: str, *, target: float, size: int) -> Result:
    with stack_with_archive(size) as (project, nginx, archive, zip_name):
        total = archive["size"]
        ours: list[float] = []
        theirs: list[float] = []
        for run in range(RUNS):
            status, got, seconds = curl_get(f"{nginx.url}/files/{zip_name}")
            assert status == 200 and got == total, (status, got)
            theirs.append(seconds)
            status, got, seconds = curl_get(project.url + project.download_path(archive))
            assert status == 200 and got == total, (status, got)
            ours.append(seconds)
            logger.info("  run %d: project %.3f s, nginx %.3f s", run + 1, ours[-1], theirs[-1])
    value, reference = total / median_of(ours) / 1e6, total / median_of(theirs) / 1e6
    ratio = value / reference
    note = f"{total / GIB:.2f} GiB ZIP"
    return Result(name, value, reference, ratio, "MB/s", f">= {target}x", ratio >= target, note)


def download_full() -> Result:
    """The whole 1 GiB ZIP, project vs nginx sendfile of the same file."""
    return _throughput("download_full", target=0.85, size=scaled(GIB))


def _grant(port: int, path: str) -> dict[str, str]:
    """The header of a resume: the grant a first counted (one-byte) download returns."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    connection.request("GET", path, headers={"Range": "bytes=0-0"})
    response = connection.getresponse()
    response.read()
    connection.close()
    return {"X-Download-Grant": response.getheader("X-Download-Grant") or ""}


def _fetch_ranges(
    port: int, path: str, offsets: list[int], *, file: Path, headers: dict[str, str] | None = None
) -> float:
    """GET 1 MiB at each offset on one keep-alive connection; check 206 and the bytes."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    bodies: list[tuple[int, bytes]] = []
    start = time.perf_counter()
    for offset in offsets:
        wanted = {"Range": f"bytes={offset}-{offset + MIB - 1}", **(headers or {})}
        connection.request("GET", path, headers=wanted)
        response = connection.getresponse()
        body = response.read()
        if response.status != 206:
            raise RuntimeError(f"range at {offset}: {response.status} {body[:200]!r}")
        bodies.append((offset, body))
    seconds = time.perf_counter() - start
    connection.close()
    with file.open("rb") as handle:
        for offset, body in bodies:
            handle.seek(offset)
            if body != handle.read(MIB):
                raise RuntimeError(f"range at {offset}: wrong bytes")
    return seconds


def download_range() -> Result:
    """200 ranges of 1 MiB at random offsets: all 206 with the right bytes; time vs nginx.

    The ranges resume one counted download, with its grant, as a resuming client does; the
    same ranges without a grant, each a new counted and logged download, are timed too."""
    with stack_with_archive(scaled(GIB, minimum=64 * MIB)) as (project, nginx, archive, name):
        file = project.zip_file(archive["id"])
        path = project.download_path(archive)
        rng = random.Random(21)
        ours: list[float] = []
        counted: list[float] = []
        theirs: list[float] = []
        for run in range(RUNS):
            offsets = [rng.randrange(archive["size"] - MIB) for _ in range(200)]
            theirs.append(_fetch_ranges(nginx.port, f"/files/{name}", offsets, file=file))
            grant = _grant(project.port, path)
            ours.append(_fetch_ranges(project.port, path, offsets, file=file, headers=grant))
            counted.append(_fetch_ranges(project.port, path, offsets, file=file))
            logger.info(
                "  run %d: project %.3f s (each counted: %.3f s), nginx %.3f s",
                run + 1, ours[-1], counted[-1], theirs[-1],
            )  # fmt: skip
    value, reference = median_of(ours), median_of(theirs)
    ratio = reference / value
    note = (
        "200 x 1 MiB resumed with a grant, all 206 and byte-exact; ratio = nginx time /"
        f" project time; as 200 counted downloads {median_of(counted):.3f} s"
        f" (ratio {reference / median_of(counted):.2f})"
    )
    return Result("download_range", value, reference, ratio, "s", ">= 0.5x", ratio >= 0.5, note)


def _probe(project: Project, stop: threading.Event, latencies: list[float]) -> None:
    headers = {"Authorization": f"Token {project.token}"}
    while not stop.is_set():
        start = time.perf_counter()
        connection = http.client.HTTPConnection("127.0.0.1", project.port, timeout=PROBE_TIMEOUT)
        try:
            connection.request("GET", "/api/archives/", headers=headers)
            response = connection.getresponse()
            response.read()
            answered = response.status == 200
        except OSError:
            answered = False
        finally:
            connection.close()
        # A probe that failed or timed out counts as the longest wait there is.
        latencies.append(time.perf_counter() - start if answered else PROBE_TIMEOUT)
        stop.wait(0.1)


def _p99(latencies: list[float]) -> float:
    ordered = sorted(latencies)
    return ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000


def download_concurrent() -> Result:
    """100 clients at 2 MB/s each on a 200 MiB archive while a probe lists archives."""
    clients = 100
    with stack_with_archive(scaled(200 * MIB, minimum=8 * MIB)) as (project, _, archive, _):
        url = project.url + project.download_path(archive)
        runs: list[float] = []
        idle: list[float] = []
        completed_all = True
        for run in range(RUNS):
            quiet: list[float] = []
            stop = threading.Event()
            probe = threading.Thread(target=_probe, args=(project, stop, quiet))
            probe.start()
            time.sleep(3)
            stop.set()
            probe.join()
            idle.append(_p99(quiet))
            latencies: list[float] = []
            stop = threading.Event()
            probe = threading.Thread(target=_probe, args=(project, stop, latencies))
            downloads = [
                subprocess.Popen(
                    [
                        "curl",
                        "-sS",
                        "--limit-rate",
                        "2M",
                        "-o",
                        "/dev/null",
                        "-w",
                        "%{http_code} %{size_download}",
                        url,
                    ],
                    stdout=subprocess.PIPE,
                    text=True,
                )
                for _ in range(clients)
            ]
            probe.start()
            outcomes = [process.communicate()[0].split() for process in downloads]
            stop.set()
            probe.join()
            complete = sum(1 for o in outcomes if o == ["200", str(archive["size"])])
            completed_all = completed_all and complete == clients
            runs.append(_p99(latencies))
            worst = max(latencies) * 1000
            logger.info(
                "  run %d: %d/%d complete, probe p99 %.1f ms, max %.1f ms (%d probes),"
                " idle p99 %.1f ms",
                run + 1, complete, clients, runs[-1], worst, len(latencies), idle[-1],
            )  # fmt: skip
    value, reference = median_of(runs), median_of(idle)
    passed = completed_all and value <= 300
    note = (
        f"{clients} x 2 MB/s; reference = probe p99 with no download; worst run p99"
        f" {max(runs):.0f} ms; all complete: {completed_all}"
    )
    return Result(
        "download_concurrent", value, reference, value / reference, "ms", "p99 <= 300", passed, note
    )


class _RssWatch:
    """Samples the resident size of the web processes until stopped; keeps the peak."""

    def __init__(self, pids: list[int]) -> None:
        self.pids = pids
        self.baseline = rss_of(pids)
        self.peak = self.baseline
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run)

    def _run(self) -> None:
        while not self._stop.wait(0.05):
            self.peak = max(self.peak, rss_of(self.pids))

    def __enter__(self) -> _RssWatch:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._thread.join()


def upload_1g() -> Result:
    """A 1 GiB multipart upload vs nginx writing the same bytes (a PUT body) to a file."""
    data = fresh_dir("data/upload")
    payload = data / "upload.bin"
    write_random(payload, scaled(GIB))
    size = payload.stat().st_size
    ours: list[float] = []
    theirs: list[float] = []
    growth: list[int] = []
    try:
        with Project("stack-upload") as project, Nginx(data) as nginx:
            for run in range(RUNS):
                theirs.append(curl_put(f"{nginx.url}/upload/run-{run}.bin", payload))
                (nginx.root / "upload" / f"run-{run}.bin").unlink()
                with _RssWatch(project.web_pids()) as watch:
                    start = time.perf_counter()
                    archive = project.upload([payload], name=f"upload {run}")
                    ours.append(time.perf_counter() - start)
                growth.append(watch.peak - watch.baseline)
                project.wait_ready(archive["id"])
                project.api("DELETE", f"/api/archives/{archive['id']}/")
                logger.info(
                    "  run %d: project %.2f s (web RSS +%.1f MiB), nginx %.2f s",
                    run + 1, ours[-1], growth[-1] / MIB, theirs[-1],
                )  # fmt: skip
    finally:
        shutil.rmtree(data, ignore_errors=True)
    value, reference = size / median_of(ours) / 1e6, size / median_of(theirs) / 1e6
    ratio = value / reference
    rss = max(growth) / MIB
    passed = ratio >= 0.8 and rss <= 64
    note = f"{size / GIB:.2f} GiB; web RSS growth max {rss:.1f} MiB"
    return Result("upload_1g", value, reference, ratio, "MB/s", ">= 0.8x", passed, note)


def end_to_end() -> Result:
    """Upload, build and download 1 GiB of already-compressed data vs the sum of nginx
    upload, ``zip -q -r -n .bin`` and nginx download of the same bytes."""
    data = fresh_dir("data/e2e")
    serve = fresh_dir("serve")
    payload = data / "movie.bin"
    write_random(payload, scaled(GIB))
    ours: list[float] = []
    theirs: list[float] = []
    try:
        with Project("stack-e2e") as project, Nginx(serve) as nginx:
            for run in range(RUNS):
                put = curl_put(f"{nginx.url}/upload/movie-{run}.bin", payload)
                (nginx.root / "upload" / f"movie-{run}.bin").unlink()
                reference_zip = serve / "reference.zip"
                reference_zip.unlink(missing_ok=True)
                start = time.perf_counter()
                subprocess.run(
                    ["zip", "-q", "-r", "-n", ".bin", str(reference_zip), "."],
                    cwd=data,
                    check=True,
                )
                zipped = time.perf_counter() - start
                status, _, fetched = curl_get(f"{nginx.url}/files/reference.zip")
                assert status == 200
                theirs.append(put + zipped + fetched)

                start = time.perf_counter()
                archive = project.upload([payload], name=f"e2e {run}")
                archive = project.wait_ready(archive["id"])
                status, got, _ = curl_get(project.url + project.download_path(archive))
                ours.append(time.perf_counter() - start)
                assert status == 200 and got == archive["size"], (status, got)
                project.api("DELETE", f"/api/archives/{archive['id']}/")
                logger.info(
                    "  run %d: project %.2f s; references %.2f s (put %.2f, zip %.2f, get %.2f)",
                    run + 1, ours[-1], theirs[-1], put, zipped, fetched,
                )  # fmt: skip
    finally:
        shutil.rmtree(data, ignore_errors=True)
        shutil.rmtree(serve, ignore_errors=True)
    value, reference = median_of(ours), median_of(theirs)
    ratio = reference / value
    note = "seconds; ratio = reference time / project time"
    return Result("end_to_end", value, reference, ratio, "s", ">= 0.6x", ratio >= 0.6, note)


def member_deflated() -> Result:
    """One 1 GiB deflated member of a ZIP through ``/api/shares/<slug>/files/0/download``
    (inflated while it streams) vs ``unzip -p`` of the same member into /dev/null; the
    web processes' RSS growth is watched while it streams."""
    data = fresh_dir("data/member")
    payload = data / "member.log"
    write_text(payload, scaled(GIB), pool=log_pool(), rng=random.Random(5))
    size = payload.stat().st_size
    ours: list[float] = []
    theirs: list[float] = []
    growth: list[int] = []
    try:
        with Project("stack-member") as project:
            archive = project.wait_ready(project.upload([payload], name="member")["id"])
            payload.unlink()
            zip_path = project.zip_file(archive["id"])
            url = f"{project.url}/api/shares/{archive['slug']}/files/0/download"
            for run in range(RUNS):
                start = time.perf_counter()
                subprocess.run(
                    ["unzip", "-p", str(zip_path)], stdout=subprocess.DEVNULL, check=True
                )
                theirs.append(time.perf_counter() - start)
                with _RssWatch(project.web_pids()) as watch:
                    status, got, seconds = curl_get(url)
                assert status == 200 and got == size, (status, got)
                ours.append(seconds)
                growth.append(watch.peak - watch.baseline)
                logger.info(
                    "  run %d: project %.2f s (web RSS +%.1f MiB), unzip -p %.2f s",
                    run + 1, ours[-1], growth[-1] / MIB, theirs[-1],
                )  # fmt: skip
    finally:
        shutil.rmtree(data, ignore_errors=True)
    value, reference = size / median_of(ours) / 1e6, size / median_of(theirs) / 1e6
    ratio = value / reference
    rss = max(growth) / MIB
    passed = ratio >= 0.5 and rss <= 16
    note = f"{size / GIB:.2f} GiB deflated member; web RSS growth max {rss:.1f} MiB (<= 16)"
    return Result("member_deflated", value, reference, ratio, "MB/s", ">= 0.5x", passed, note)


BENCHMARKS = {
    "download_full": download_full,
    "download_range": download_range,
    "download_concurrent": download_concurrent,
    "upload_1g": upload_1g,
    "end_to_end": end_to_end,
    "member_deflated": member_deflated,
}
