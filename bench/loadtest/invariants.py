"""The promises of DESIGN §15, checked after a load test from the database (plain SQL:
this module imports no app code) and from the bucket."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import psycopg

if TYPE_CHECKING:
    from pathlib import Path

SETTLED = ("ready", "failed", "expired")


@dataclass
class Check:
    name: str
    ok: bool
    detail: str = ""


@dataclass
class Report:
    checks: list[Check] = field(default_factory=list)
    figures: dict[str, Any] = field(default_factory=dict)

    def add(self, name: str, problems: list[str], **figures: Any) -> None:
        self.checks.append(Check(name, not problems, "; ".join(problems[:10])))
        self.figures.update(figures)

    @property
    def ok(self) -> bool:
        return all(check.ok for check in self.checks)


def wait_until_settled(database_url: str, *, timeout: float) -> int:
    """Wait for every archive to leave pending and building; return how many still
    had not when ``timeout`` ran out."""
    deadline = time.monotonic() + timeout
    while True:
        with psycopg.connect(database_url) as connection:
            row = connection.execute(
                "SELECT count(*) FROM archives_archive WHERE status IN ('pending', 'building')"
            ).fetchone()
        waiting = row[0] if row else 0
        if waiting == 0 or time.monotonic() > deadline:
            return waiting
        time.sleep(2)


def building_now(
    database_url: str, *, statuses: tuple[str, ...] = ("pending", "building")
) -> list[str]:
    with psycopg.connect(database_url) as connection:
        rows = connection.execute(
            "SELECT id FROM archives_archive WHERE status = ANY(%s)", [list(statuses)]
        ).fetchall()
    return [row[0] for row in rows]


def server_errors(access_log: Path) -> list[str]:
    """The requests nginx answered with a 5xx (its own or the app's), with the upstream
    server each went to last."""
    errors = []
    for line in access_log.read_text(errors="replace").splitlines():
        match = re.match(r"\S+ (\d{3}) ", line)
        if match and int(match[1]) >= 500:
            errors.append(line)
    return errors


def bucket_keys(s3: Any, bucket: str) -> set[str]:
    keys: set[str] = set()
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        keys.update(item["Key"] for item in page.get("Contents", []))
    return keys


def check(
    database_url: str,
    s3: Any,
    bucket: str,
    access_log: Path,
    *,
    held_by_killed: list[str] | None = None,
    killed_upstream: str = "",
) -> Report:
    report = Report()
    with psycopg.connect(database_url) as connection:
        archives = connection.execute(
            "SELECT id, status, error, zip_name, download_count, max_downloads, build_attempts "
            "FROM archives_archive"
        ).fetchall()
        counted = dict(
            connection.execute(
                "SELECT archive_id, count(*) FROM archives_download GROUP BY archive_id"
            ).fetchall()
        )
        links = connection.execute(
            "SELECT l.id, l.download_count, l.max_downloads, "
            "(SELECT count(*) FROM archives_download d WHERE d.link_id = l.id) "
            "FROM archives_link l"
        ).fetchall()
        sources = {
            row[0]
            for row in connection.execute(
                "SELECT source_name FROM archives_archivefile WHERE source_name <> ''"
            ).fetchall()
        }
        downloads = connection.execute("SELECT count(*) FROM archives_download").fetchone()

    statuses: dict[str, int] = {}
    for row in archives:
        statuses[row[1]] = statuses.get(row[1], 0) + 1
    report.add(
        "every archive ready, or refused with a reason",
        [f"{row[0]} {row[1]}" for row in archives if row[1] not in {"ready", "failed"}]
        + [
            f"{row[0]} failed without a reason"
            for row in archives
            if row[1] == "failed" and not row[2].strip()
        ],
        archives=len(archives),
        statuses=statuses,
        failed_reasons=sorted({row[2][:120] for row in archives if row[1] == "failed"}),
    )
    report.add(
        "every download count equals its log's rows and stays within its limit",
        [
            f"archive {row[0]}: count {row[4]}, log {counted.get(row[0], 0)}, limit {row[5]}"
            for row in archives
            if row[4] != counted.get(row[0], 0) or (row[5] is not None and row[4] > row[5])
        ]
        + [
            f"link {row[0]}: count {row[1]}, log {row[3]}, limit {row[2]}"
            for row in links
            if row[1] != row[3] or (row[2] is not None and row[1] > row[2])
        ],
        downloads_counted=downloads[0] if downloads else 0,
        archives_at_their_limit=sum(
            1 for row in archives if row[5] is not None and row[4] == row[5]
        ),
    )
    named = sources | {row[3] for row in archives if row[3]}
    stored = bucket_keys(s3, bucket)
    report.add(
        "no object no row names, no row naming a missing object",
        [f"orphan object {key}" for key in sorted(stored - named)]
        + [f"missing object {key}" for key in sorted(named - stored)],
        objects=len(stored),
    )
    errors = server_errors(access_log)
    # Requests in flight on a killed web process that nginx may not send again (POST,
    # PATCH) end with it: counted apart, every other 5xx is a failure.
    lost = [
        line
        for line in errors
        if killed_upstream and " 502 " in line and line.endswith(killed_upstream)
    ]
    report.add(
        "no 5xx",
        [line for line in errors if line not in lost],
        server_errors=len(errors),
        lost_with_the_killed_web_process=len(lost),
    )
    if held_by_killed is not None:
        by_id = {row[0]: row for row in archives}
        rebuilt = sum(1 for key in held_by_killed if key in by_id and by_id[key][6] > 1)
        # A build the killed worker held is built again (a second attempt); with none,
        # the kill caught no build running and this check would prove nothing.
        report.add(
            "the builds the killed worker held finished on the other",
            [
                f"{key} {by_id[key][1]}"
                for key in held_by_killed
                if key in by_id and by_id[key][1] != "ready"
            ]
            + ([] if rebuilt else ["no build held by the killed worker was built again"]),
            builds_held_at_kill=len(held_by_killed),
            rebuilt=rebuilt,
        )
    return report
