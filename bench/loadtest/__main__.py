"""`make loadtest` (``python -m bench.loadtest``): start the stack, run Locust headless
against it, check the invariants, print and save the figures.

    LOADTEST_USERS=50 LOADTEST_SECONDS=60 LOADTEST_RUNS=3 python -m bench.loadtest [--kill]

The users arrive evenly over ``LOADTEST_RAMP_SECONDS``; the figures (latencies, requests
per second, CPU) cover the ``LOADTEST_SECONDS`` after that, with all of them at work. The
checks cover the whole run.

``LOADTEST_SIGNUPS`` (default: every user) is how many users sign up and take a token with
their password during the run; the others come with an account and an API key made
before it, as API clients do.

``--kill`` SIGKILLs one gunicorn process and one Celery worker halfway through each run.
Results go to var/loadtest/results.json (each run, and the medians over the runs)."""

from __future__ import annotations

import base64
import csv
import json
import os
import resource
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import requests

from bench.common import BASE_DIR
from bench.loadtest.invariants import building_now, check, wait_until_settled
from bench.loadtest.stack import Stack

OUT = Path(os.environ.get("LOADTEST_DIR") or BASE_DIR / "var/loadtest")
USERS = int(os.environ.get("LOADTEST_USERS", "50"))
SECONDS = int(os.environ.get("LOADTEST_SECONDS", "60"))
RAMP_SECONDS = int(os.environ.get("LOADTEST_RAMP_SECONDS", "30"))
RUNS = int(os.environ.get("LOADTEST_RUNS", "1"))
SIGNUPS = min(int(os.environ.get("LOADTEST_SIGNUPS", str(USERS))), USERS)
SETTLE_SECONDS = int(os.environ.get("LOADTEST_SETTLE_SECONDS", "240"))
# The archive the harness builds at the kill, so that the killed worker holds a build.
LONG_BUILD_BYTES = int(os.environ.get("LOADTEST_LONG_BUILD_BYTES", str(200 * 1024**2)))
WORKLOAD = Path(__file__).resolve().parent / "workload.py"
PERCENTILES = ("50%", "95%", "99%")


def read_stats(prefix: Path) -> dict[str, Any]:
    endpoints = {}
    with Path(f"{prefix}_stats.csv").open() as handle:
        for row in csv.DictReader(handle):
            name = row["Name"]
            endpoints[name] = {
                "requests": int(row["Request Count"]),
                "failures": int(row["Failure Count"]),
                "rps": round(float(row["Requests/s"]), 2),
                **{f"p{p[:-1]}_ms": _number(row[p]) for p in PERCENTILES},
            }
    failures = []
    with Path(f"{prefix}_failures.csv").open() as handle:
        for row in csv.DictReader(handle):
            failures.append({"endpoint": f"{row['Method']} {row['Name']}",
                             "error": row["Error"][:300],
                             "occurrences": int(row["Occurrences"])})  # fmt: skip
    return {"endpoints": endpoints, "failures": failures}


def _number(text: str) -> float | None:
    return None if text in {"", "N/A"} else float(text)


def one_run(number: int, *, kill: bool) -> dict[str, Any]:
    prefix = OUT / f"run{number}{'-kill' if kill else ''}"
    killed: dict[str, Any] = {}
    with Stack() as stack:
        command = [
            sys.executable, "-m", "locust", "-f", str(WORKLOAD), "--headless",
            "-u", str(USERS), "-r", f"{USERS / max(RAMP_SECONDS, 1):g}",
            "-t", f"{RAMP_SECONDS + SECONDS}s", "--reset-stats",
            "--host", stack.url, "--csv", str(prefix), "--stop-timeout", "120",
            "--only-summary", "--loglevel", "WARNING",
        ]  # fmt: skip
        env = {
            **os.environ,
            "LOADTEST_RUN": str(number),
            "PYTHONPATH": str(BASE_DIR),
            "LOADTEST_RAMP_SECONDS": str(RAMP_SECONDS),
            "LOADTEST_SECONDS": str(SECONDS),
        }
        if SIGNUPS < USERS:
            prepared = prefix.with_name(f"{prefix.name}-accounts.json")
            accounts = stack.run_module(
                "bench.loadtest.accounts", str(USERS - SIGNUPS), f"prepared-{number}"
            )
            prepared.write_text(accounts)
            env["LOADTEST_ACCOUNTS"] = str(prepared)
        children_before = _children_cpu()
        window: dict[str, Any] = {}
        with (OUT / f"locust{number}.log").open("wb") as log:
            locust = subprocess.Popen(command, cwd=BASE_DIR, env=env, stdout=log, stderr=log)
            timers = [threading.Timer(RAMP_SECONDS, _window_starts, args=(stack, locust, window))]
            if kill:
                timers.append(
                    threading.Timer(RAMP_SECONDS + SECONDS / 2, _kill, args=(stack, killed, number))
                )
            for timer in timers:
                timer.start()
            locust.wait()
            for timer in timers:
                timer.join()
        elapsed = time.monotonic() - window["at"]
        before = window["cpu"]
        cpu = {part: used - before[part] for part, used in stack.cpu_seconds().items()}
        # Locust has ended and been waited for: its seconds are among this process's
        # children's now (a killed worker's main process's too, in a --kill run).
        cpu["locust"] = _children_cpu() - children_before - before["locust"]
        waiting = wait_until_settled(stack.settings.database_url, timeout=SETTLE_SECONDS)
        if kill:
            # What the killed web process stored but never committed: beat's orphan sweep
            # removes it once ORPHAN_GRACE_SECONDS have passed; run it as it will then.
            killed["orphans_swept"] = json.loads(stack.run_module("bench.loadtest.sweep"))
        # A build is ready before its sources leave the bucket (after its commit): the
        # last ones may still be on their way out, so look again for a little while.
        for _ in range(10):
            report = check(
                stack.settings.database_url,
                stack.s3(),
                stack.bucket,
                stack.access_log,
                held_by_killed=killed.get("archives") if kill else None,
                killed_upstream=f"127.0.0.1:{stack.web_ports[0]}" if kill else "",
            )
            if report.ok:
                break
            time.sleep(3)
    stats = read_stats(prefix)
    total = stats["endpoints"].get("Aggregated", {})
    return {
        "run": number,
        "kill": kill,
        "killed": {key: value for key, value in killed.items() if key != "archives"},
        "users": USERS,
        "signups": SIGNUPS,
        "seconds": SECONDS,
        "ramp_seconds": RAMP_SECONDS,
        "elapsed_seconds": round(elapsed, 1),
        "cores": os.cpu_count(),
        "rps": total.get("rps"),
        "rps_per_core": round(total.get("rps", 0) / (os.cpu_count() or 1), 2),
        "not_settled_after_wait": waiting,
        "cpu_seconds": {part: round(used, 1) for part, used in cpu.items()},
        "cpu_share": {
            part: round(used / (elapsed * (os.cpu_count() or 1)), 3) for part, used in cpu.items()
        },
        **stats,
        "invariants": [
            {"check": item.name, "ok": item.ok, "detail": item.detail} for item in report.checks
        ],
        "figures": report.figures,
        "ok": report.ok,
    }


def _window_starts(stack: Stack, locust: subprocess.Popen[bytes], window: dict[str, Any]) -> None:
    """Every user is at work and Locust starts its figures anew: so does the CPU count."""
    window["cpu"] = stack.cpu_seconds(locust=locust.pid)
    window["at"] = time.monotonic()


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _kill(stack: Stack, killed: dict[str, Any], number: int) -> None:
    """Halfway through: start a build that takes a worker seconds, wait until it runs,
    then kill a web process and the worker building it (the busiest, if Celery's remote
    control does not say which). The workload's own builds last a fraction of a second:
    a kill timed on them alone may find none running, and then the check that held
    builds finish proves nothing."""
    long_build = _start_long_build(stack, number)
    deadline = time.monotonic() + SECONDS / 3
    while True:
        killed["archives"] = building_now(stack.settings.database_url)
        running = long_build in building_now(stack.settings.database_url, statuses=("building",))
        if running or time.monotonic() >= deadline:
            break
        time.sleep(0.2)
    killed["long_build_running_at_kill"] = running
    holder = stack.worker_building(long_build)
    killed["long_build_held_by_killed_worker"] = holder is not None
    killed["web_pid"] = stack.kill_web_process()
    killed["worker_pid"] = stack.kill_worker(holder)
    killed["builds_pending_or_running_at_kill"] = len(killed["archives"])


def _start_long_build(stack: Stack, number: int) -> str:
    """Upload, through nginx with an API key, an archive of text that a worker takes
    seconds to deflate (two members of base64 of random bytes: a quarter smaller once
    deflated, so deflated, at some 70 MB/s a core); return its id."""
    [(_username, key)] = json.loads(
        stack.run_module("bench.loadtest.accounts", "1", f"kill-{number}")
    )
    text = base64.b64encode(os.urandom(LONG_BUILD_BYTES * 3 // 8))
    response = requests.post(
        f"{stack.url}/api/archives/",
        files=[("files", (f"part{part}.txt", text, "text/plain")) for part in (1, 2)],
        data={"name": "built while a worker is killed"},
        headers={"Authorization": f"Bearer {key}"},
        timeout=300,
    )
    response.raise_for_status()
    return response.json()["id"]


def medians(runs: list[dict[str, Any]]) -> dict[str, Any]:
    names = set().union(*(run["endpoints"] for run in runs))
    table = {}
    for name in sorted(names):
        rows = [run["endpoints"][name] for run in runs if name in run["endpoints"]]
        table[name] = {
            key: statistics.median(row[key] for row in rows if row[key] is not None)
            if any(row[key] is not None for row in rows) else None
            for key in ("requests", "failures", "rps", "p50_ms", "p95_ms", "p99_ms")
        }  # fmt: skip
    return table


def say(line: str = "") -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def print_table(title: str, endpoints: dict[str, Any]) -> None:
    say(f"\n{title}")
    say(f"{'endpoint':64} {'reqs':>6} {'fail':>5} {'rps':>7} {'p50':>6} {'p95':>6} {'p99':>6}")
    for name, row in sorted(endpoints.items(), key=lambda item: item[0] == "Aggregated"):
        cells = [row[key] for key in ("p50_ms", "p95_ms", "p99_ms")]
        shown = " ".join(f"{cell:>6.0f}" if cell is not None else f"{'-':>6}" for cell in cells)
        say(f"{name[:64]:64} {row['requests']:>6.0f} {row['failures']:>5.0f} "
              f"{row['rps']:>7.1f} {shown}")  # fmt: skip


def main() -> int:
    kill = "--kill" in sys.argv[1:]
    OUT.mkdir(parents=True, exist_ok=True)
    runs = []
    for number in range(1, RUNS + 1):
        result = one_run(number, kill=kill)
        runs.append(result)
        print_table(f"run {number}{' (kill)' if kill else ''}: {USERS} users, {SECONDS} s, "
                    f"{result['rps']} requests/s ({result['rps_per_core']} per core)",
                    result["endpoints"])  # fmt: skip
        for failure in result["failures"]:
            say(f"  failure x{failure['occurrences']}: {failure['endpoint']}: "
                  f"{failure['error'][:160]}")  # fmt: skip
        for item in result["invariants"]:
            say(f"  [{'ok' if item['ok'] else 'FAIL'}] {item['check']} {item['detail']}")
        say(f"  figures: {json.dumps(result['figures'])}")
        shares = result["cpu_share"]
        parts = sorted((item for item in shares.items() if not item[0].startswith("machine")),
                       key=lambda item: -item[1])  # fmt: skip
        say("  CPU (share of all cores over the measured window): "
            + ", ".join(f"{part} {share:.0%}" for part, share in parts)
            + f"; the machine busy {shares['machine busy']:.0%}, of which stolen by its host "
            f"{shares['machine steal']:.0%}")  # fmt: skip
        if kill:
            say(f"  killed: {json.dumps(result['killed'])}")
    summary = {"runs": runs, "median": medians(runs)}
    if RUNS > 1:
        print_table(f"median of {RUNS} runs", summary["median"])
    path = OUT / ("results-kill.json" if kill else "results.json")
    path.write_text(json.dumps(summary, indent=2))
    say(f"\nwritten to {path}")
    return 0 if all(run["ok"] for run in runs) else 1


if __name__ == "__main__":
    sys.exit(main())
