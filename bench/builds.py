"""ZIP build against Info-ZIP ``zip`` on the same files, in the same run.

Each data set is generated under var/bench/, built by the project in a worker-like process
(``bench.build_worker``) and zipped by ``zip -q -r`` (level 6), alternately, ``RUNS`` times;
the medians are compared. The data sets are removed afterwards.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
import sys
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path

from bench.common import (
    BASE_DIR,
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
    tree_size,
    write_random,
    write_text,
)

STACK = BENCH_DIR / "build-stack"


@dataclass(frozen=True)
class ProjectRun:
    seconds: float
    finish_seconds: float
    removal_seconds: float
    size: int
    peak_rss: int
    rss_before: int
    path: Path


def _environment() -> dict[str, str]:
    env = {**os.environ, "VAR_DIR": str(STACK), "DJANGO_ENV": "development"}
    for name in ("DATABASE_URL", "MEDIA_ROOT", "CELERY_BROKER_URL", "REDIS_URL"):
        env.pop(name, None)
    return env


def prepare_stack() -> None:
    """A private SQLite database and media folder for the project's builds."""
    shutil.rmtree(STACK, ignore_errors=True)
    STACK.mkdir(parents=True)
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v0"],
        cwd=BASE_DIR,
        env=_environment(),
        check=True,
    )


def run_project(folder: Path) -> ProjectRun:
    """Build ``folder`` with the project; return the build's time, size and peak RSS."""
    process = subprocess.Popen(
        [sys.executable, "-m", "bench.build_worker", str(folder)],
        cwd=BASE_DIR,
        env=_environment(),
        stdout=subprocess.PIPE,
    )
    assert process.stdout is not None
    output = process.stdout.read()
    process.wait()
    report = json.loads(output)
    if report["status"] != "ready":
        raise RuntimeError(f"the project's build failed: {report['error']}")
    return ProjectRun(
        seconds=report["seconds"],
        finish_seconds=report["finish_seconds"],
        removal_seconds=report["removal_seconds"],
        size=report["size"],
        peak_rss=report["peak_rss"],
        rss_before=report["rss_before"],
        path=Path(report["path"]),
    )


def run_zip(folder: Path, *, extra: list[str]) -> tuple[float, int]:
    """``zip -q -r`` of ``folder`` (from inside it, so names match); return time and size."""
    output = BENCH_DIR / "reference.zip"
    output.unlink(missing_ok=True)
    start = time.perf_counter()
    subprocess.run(["zip", "-q", "-r", "-6", *extra, str(output), "."], cwd=folder, check=True)
    seconds = time.perf_counter() - start
    size = output.stat().st_size
    output.unlink()
    return seconds, size


@dataclass(frozen=True)
class Comparison:
    project: float
    reference: float
    project_size: int
    reference_size: int
    # Median seconds of the project's build spent in finish_build (archives/build.py).
    finish: float
    # Median seconds of the sources' removal, a task of its own after the build.
    removal: float


def compare(folder: Path, *, extra: list[str] | None = None) -> Comparison:
    """Medians of the project's and zip's build times, and their output sizes."""
    finish_times: list[float] = []
    removal_times: list[float] = []
    project_times: list[float] = []
    zip_times: list[float] = []
    project_size = zip_size = 0
    for run in range(RUNS):
        seconds, zip_size = run_zip(folder, extra=extra or [])
        zip_times.append(seconds)
        built = run_project(folder)
        project_times.append(built.seconds)
        finish_times.append(built.finish_seconds)
        removal_times.append(built.removal_seconds)
        project_size = built.size
        built.path.unlink()
        logger.info(
            "  run %d: project %.2f s (finish_build %.2f s, %d bytes; then removing the"
            " sources %.2f s), zip %.2f s (%d bytes)",
            run + 1, built.seconds, built.finish_seconds, built.size, built.removal_seconds,
            seconds, zip_size,
        )  # fmt: skip
    return Comparison(
        median_of(project_times),
        median_of(zip_times),
        project_size,
        zip_size,
        median_of(finish_times),
        median_of(removal_times),
    )


def _speed_result(
    name: str, folder: Path, *, target: float, extra: list[str] | None = None
) -> Result:
    total = tree_size(folder)
    found = compare(folder, extra=extra)
    value, ref = total / found.project / 1e6, total / found.reference / 1e6
    larger = found.project_size / found.reference_size - 1
    ratio = value / ref
    passed = ratio >= target and larger <= 0.03
    note = f"{total / GIB:.2f} GiB in; output {larger:+.1%} vs zip"
    return Result(name, value, ref, ratio, "MB/s", f">= {target}x", passed, note)


def build_deflate() -> Result:
    """1 GiB of compressible data: one large log plus 2,000 small text files."""
    folder = fresh_dir("data/deflate")
    pool = log_pool()
    rng = random.Random(11)
    small_total = 0
    for number in range(scaled(2000, minimum=10)):
        size = rng.randint(1024, 16 * 1024)
        write_text(folder / "small" / f"note-{number:04d}.txt", size, pool=pool, rng=rng)
        small_total += size
    write_text(folder / "server.log", scaled(GIB) - small_total, pool=pool, rng=rng)
    try:
        return _speed_result("build_deflate", folder, target=3.0)
    finally:
        shutil.rmtree(folder)


def build_mixed_store() -> Result:
    """1 GiB mixed: random .bin files, a log, and small text and binary files."""
    folder = fresh_dir("data/mixed")
    pool = log_pool()
    rng = random.Random(12)
    for number in range(4):
        write_random(folder / "media" / f"clip-{number}.bin", scaled(128 * MIB))
    write_text(folder / "logs" / "app.log", scaled(384 * MIB), pool=pool, rng=rng)
    for number in range(scaled(1000, minimum=10)):
        if number % 2:
            write_random(folder / "small" / f"blob-{number:04d}.bin", rng.randint(4096, 96 * 1024))
        else:
            size = rng.randint(4096, 96 * 1024)
            write_text(folder / "small" / f"page-{number:04d}.txt", size, pool=pool, rng=rng)
    try:
        return _speed_result("build_mixed_store", folder, target=2.0, extra=["-n", ".bin"])
    finally:
        shutil.rmtree(folder)


def build_small_files() -> Result:
    """20,000 text files of 4 KiB."""
    folder = fresh_dir("data/small")
    pool = log_pool(4 * MIB + 8 * MIB + 64 * 1024)
    rng = random.Random(13)
    for number in range(scaled(20_000, minimum=100)):
        start = rng.randrange(4 * MIB)
        (folder / f"d{number // 1000:02d}").mkdir(exist_ok=True)
        (folder / f"d{number // 1000:02d}" / f"f{number:05d}.txt").write_bytes(
            pool[start : start + 4096]
        )
    try:
        found = compare(folder)
        count = sum(1 for _ in folder.rglob("*.txt"))
        value, ref = count / found.project, count / found.reference
        ratio = value / ref
        without = count / (found.project - found.finish) / ref
        note = (
            f"{count} files; output {found.project_size / found.reference_size - 1:+.1%} vs zip;"
            f" finish_build {found.finish:.2f} s of {found.project:.2f} s"
            f" (ratio without it {without:.2f}); then the removal of the sources"
            f" {found.removal:.2f} s"
        )
        return Result(
            "build_small_files", value, ref, ratio, "files/s", ">= 1.5x", ratio >= 1.5, note
        )
    finally:
        shutil.rmtree(folder)


def _rss_set(folder: Path, *, random_size: int, text_size: int) -> None:
    pool = log_pool()
    write_random(folder / "big.bin", random_size)
    write_text(folder / "big.log", text_size, pool=pool, rng=random.Random(14))


def _check_zip64(path: Path) -> str:
    """unzip -t and zipfile's testzip on the large archive (ZIP64: a member past 4 GiB)."""
    unzip = subprocess.run(["unzip", "-tq", str(path)], capture_output=True, text=True)
    with zipfile.ZipFile(path) as archive:
        bad = archive.testzip()
        largest = max(info.file_size for info in archive.infolist())
    verdict = "ok" if unzip.returncode == 0 and bad is None else "FAILED"
    size = path.stat().st_size / GIB
    return f"zip64 {verdict} (largest member {largest / GIB:.2f} GiB, zip {size:.2f} GiB)"


def build_rss_growth() -> Result:
    """Peak RSS of the building process during the build (Django loaded, peak reset just
    before), at 4 GiB of input over that at 0.5 GiB (lower is better). The 4 GiB set
    holds one stored member past 4 GiB, so it also checks ZIP64."""
    peaks: dict[str, list[float]] = {"small": [], "large": []}
    note = ""
    sizes = {
        "small": (scaled(256 * MIB), scaled(256 * MIB)),
        "large": (scaled(4 * GIB + 16 * MIB), scaled(256 * MIB)),
    }
    for label, (random_size, text_size) in sizes.items():
        folder = fresh_dir(f"data/rss-{label}")
        _rss_set(folder, random_size=random_size, text_size=text_size)
        try:
            for run in range(RUNS):
                built = run_project(folder)
                peaks[label].append(built.peak_rss)
                logger.info(
                    "  %s run %d: %.2f s, peak RSS %.1f MiB (%.1f MiB before the build)",
                    label, run + 1, built.seconds, built.peak_rss / MIB, built.rss_before / MIB,
                )  # fmt: skip
                if label == "large" and run == 0:
                    note = _check_zip64(built.path)
                built.path.unlink()
        finally:
            shutil.rmtree(folder)
    large, small = median_of(peaks["large"]) / MIB, median_of(peaks["small"]) / MIB
    ratio = large / small
    return Result("build_rss_growth", large, small, ratio, "MiB", "<= 1.1", ratio <= 1.1, note)


BENCHMARKS = {
    "build_deflate": build_deflate,
    "build_mixed_store": build_mixed_store,
    "build_small_files": build_small_files,
    "build_rss_growth": build_rss_growth,
}
