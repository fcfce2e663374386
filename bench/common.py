"""What every benchmark shares: sizes, data generators, timing and the results file."""

from __future__ import annotations

import json
import logging
import os
import random
import shutil
import statistics
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable

logger = logging.getLogger("bench")

BASE_DIR = Path(__file__).resolve().parent.parent
BENCH_DIR = Path(os.environ.get("BENCH_DIR") or BASE_DIR / "var" / "bench")
RESULTS = BENCH_DIR / "results.json"
MIB = 1024 * 1024
GIB = 1024 * MIB
# BENCH_SCALE=0.1 shrinks every data set tenfold for a quick run; 1 is the sizes.
SCALE = float(os.environ.get("BENCH_SCALE", "1"))
RUNS = int(os.environ.get("BENCH_RUNS", "3"))


def scaled(size: int, *, minimum: int = 1) -> int:
    return max(int(size * SCALE), minimum)


@dataclass(frozen=True)
class Result:
    """One line of the table; ``ratio`` is project / reference (see ``higher_is_better``)."""

    name: str
    value: float
    reference: float
    ratio: float
    unit: str
    target: str
    passed: bool
    note: str = ""


def median_of(runs: list[float]) -> float:
    return statistics.median(runs)


def timed(action: Callable[[], object]) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def fresh_dir(name: str) -> Path:
    path = BENCH_DIR / name
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    return path


def log_pool(size: int = 32 * MIB, *, seed: int = 1) -> bytes:
    """Log-like text: timestamps, levels, addresses, paths and timings that vary line by
    line, so it deflates like a real server log (about 4:1), not like a repeated line."""
    rng = random.Random(seed)
    levels = ["INFO", "INFO", "INFO", "DEBUG", "WARNING", "ERROR"]
    agents = [
        "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
        "curl/8.5.0",
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) Safari/604.1",
        "python-requests/2.32.3",
    ]
    paths = ["/api/archives/", "/s/{}/", "/api/shares/{}/download", "/healthz", "/api/auth/token/"]
    alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-"
    lines: list[str] = []
    length = 0
    stamp = 1_700_000_000
    while length < size:
        stamp += rng.randint(0, 3)
        path = rng.choice(paths).format("".join(rng.choices(alphabet, k=24)))
        line = (
            f"{stamp}.{rng.randrange(10**6):06d} {rng.choice(levels)}"
            f" web[{rng.randint(1000, 1100)}]"
            f" 10.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randint(1, 254)}"
            f' "GET {path} HTTP/1.1" {rng.choice([200, 200, 200, 206, 304, 404, 500])}'
            f' {rng.randrange(10**7)} "{rng.choice(agents)}" took={rng.random() * 100:.3f}ms\n'
        )
        lines.append(line)
        length += len(line)
    return "".join(lines).encode()[:size]


def write_text(path: Path, size: int, *, pool: bytes, rng: random.Random) -> None:
    """``size`` bytes of log text: slices of ``pool`` from random line starts. Repeats lie
    megabytes apart, far beyond deflate's 32 KiB window, so they do not help it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as handle:
        left = size
        while left:
            start = pool.find(b"\n", rng.randrange(len(pool) - 8 * MIB)) + 1
            piece = pool[start : start + min(left, 4 * MIB)]
            handle.write(piece)
            left -= len(piece)


def write_random(path: Path, size: int) -> None:
    """``size`` bytes that do not compress, like media or archives."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as handle:
        left = size
        while left:
            piece = os.urandom(min(left, 4 * MIB))
            handle.write(piece)
            left -= len(piece)


def tree_size(folder: Path) -> int:
    return sum(path.stat().st_size for path in folder.rglob("*") if path.is_file())


def save_results(results: list[Result]) -> None:
    """Merge ``results`` into var/bench/results.json (a partial run keeps the others)."""
    BENCH_DIR.mkdir(parents=True, exist_ok=True)
    stored: dict[str, dict[str, object]] = {}
    if RESULTS.exists():
        stored = json.loads(RESULTS.read_text())
    for result in results:
        row: dict[str, object] = {k: v for k, v in asdict(result).items() if k != "name"}
        row["scale"] = SCALE
        stored[result.name] = row
    RESULTS.write_text(json.dumps(stored, indent=2) + "\n")


def table(results: list[Result]) -> str:
    header = f"{'name':<22}{'value':>12}{'reference':>12}{'ratio':>8}  {'unit':<8}{'target':<12}ok"
    lines = [header, "-" * len(header)]
    for r in results:
        lines.append(
            f"{r.name:<22}{r.value:>12.3f}{r.reference:>12.3f}{r.ratio:>8.2f}  "
            f"{r.unit:<8}{r.target:<12}{'yes' if r.passed else 'NO'}"
            + (f"  {r.note}" if r.note else "")
        )
    return "\n".join(lines)
