"""The Locust workload of `make loadtest` (run by Locust, not imported by the rest).

Each simulated user signs up and takes a token (or, past ``LOADTEST_SIGNUPS`` users,
comes with an account and API key made before the run: ``LOADTEST_ACCOUNTS``) and then,
at random and with the weights below: uploads small archives by multipart and by tus,
now and then a large one, polls its archives until built,
views share pages (HTML and API), downloads with limits, resumes with its grant and
without one, takes one file out of a share and opens its preview page, and reads stats.
The rare and costly requests, the large uploads and a few more sign-ups, come at even
intervals through the measured window (after ``LOADTEST_RAMP_SECONDS``, for
``LOADTEST_SECONDS``), so that every run's figures hold the same number of each.
Each user talks from an address of its own in 127.0.0.0/8, as distinct clients would
(the per-address limits of nginx and the app then apply per user).

An answer the app may rightly give (410 once a limit is used, 404 for an archive expired
or refused) counts as a success; any 5xx, and anything else unexpected, as a failure.
"""

from __future__ import annotations

import base64
import itertools
import json
import os
import random
import threading
import time
from pathlib import Path
from typing import Any

from locust import HttpUser, between, task
from requests.adapters import HTTPAdapter

PASSWORD = "loadtest-password-7f3a!"
KIB = 1024
MIB = 1024 * KIB
BIG_BYTES = int(os.environ.get("LOADTEST_BIG_BYTES", str(50 * MIB)))
BIG = f"{BIG_BYTES / MIB:g} MB"
# Large uploads in the measured window (half multipart, half tus): each costs a build of
# BIG_BYTES on one of the two workers.
BIG_UPLOADS = int(os.environ.get("LOADTEST_BIG_UPLOADS", "4"))
# Sign-ups with a token in the measured window, by new users besides those arriving:
# a password is hashed twice (Argon2id, about 20 ms of CPU each).
WINDOW_SIGNUPS = int(os.environ.get("LOADTEST_WINDOW_SIGNUPS", "5"))
RAMP_SECONDS = float(os.environ.get("LOADTEST_RAMP_SECONDS", "0"))
WINDOW_SECONDS = float(os.environ.get("LOADTEST_SECONDS", "60"))
TUS_CHUNK = 8 * MIB
RUN = os.environ.get("LOADTEST_RUN", "run")

_numbers = itertools.count(1)
_lock = threading.Lock()
# Built archives any user may visit: (slug, size).
shared: list[tuple[str, int]] = []
# Accounts made before the run, [username, API key] each, taken one per user.
_prepared: list[list[str]] = (
    json.loads(Path(os.environ["LOADTEST_ACCOUNTS"]).read_text())
    if os.environ.get("LOADTEST_ACCOUNTS")
    else []
)


def _take_prepared() -> list[str] | None:
    with _lock:
        return _prepared.pop() if _prepared else None


class _Paced:
    """``count`` events spread evenly over the measured window: ``take()`` is true once
    for each, when its time has come."""

    def __init__(self, count: int) -> None:
        self.count = count
        self.taken = 0
        self.started = time.monotonic()

    def take(self) -> bool:
        with _lock:
            due = RAMP_SECONDS + self.taken * WINDOW_SECONDS / max(self.count, 1)
            if self.taken >= self.count or time.monotonic() - self.started < due:
                return False
            self.taken += 1
            return True


_big_uploads = _Paced(BIG_UPLOADS)
_window_signups = _Paced(WINDOW_SIGNUPS)


class _SourceAddress(HTTPAdapter):
    def __init__(self, address: str) -> None:
        self.address = address
        super().__init__(pool_connections=2, pool_maxsize=2)

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        kwargs["source_address"] = (self.address, 0)
        super().init_poolmanager(*args, **kwargs)


def _tus_metadata(**values: str) -> str:
    return ",".join(
        f"{key} {base64.b64encode(value.encode()).decode()}" for key, value in values.items()
    )


class Visitor(HttpUser):
    wait_time = between(0.2, 1.0)

    def on_start(self) -> None:
        number = next(_numbers)
        address = f"127.0.{1 + number // 250}.{2 + number % 250}"
        adapter = _SourceAddress(address)
        self.client.mount("http://", adapter)
        self.name = f"load-{RUN}-{number}-{random.randrange(10**6)}"
        self.archives: dict[str, dict[str, Any]] = {}
        self.grants: list[tuple[str, str, int]] = []
        prepared = _take_prepared()
        if prepared is not None:
            self.name = prepared[0]
            self.auth = {"Authorization": f"Bearer {prepared[1]}"}
            return
        self.auth = {"Authorization": f"Token {self._sign_up(self.name)}"}

    def _sign_up(self, username: str) -> str:
        """Register ``username`` and take its token (empty if none was given)."""
        self.client.post(
            "/api/auth/register/",
            json={"username": username, "password": PASSWORD},
            name="POST /api/auth/register/",
        )
        # A client asks again when its token request fails (a 502 while a web process
        # restarts): without a token every later call of this user would be a 401.
        for _ in range(3):
            answer = self.client.post(
                "/api/auth/token/",
                json={"username": username, "password": PASSWORD},
                name="POST /api/auth/token/",
            )
            if answer.ok:
                return answer.json()["token"]
        return ""

    @task(1)
    def sign_up_another(self) -> None:
        """Someone new signs up from this user's address (now and then only)."""
        if _window_signups.take():
            self._sign_up(f"{self.name}-new-{next(_numbers)}")

    # Uploads -------------------------------------------------------------------------

    def _created(self, response: Any, *, big: bool) -> None:
        if response.status_code == 201:
            body = response.json()
            self.archives[body["id"]] = {"slug": body["slug"], "status": body["status"],
                                         "big": big}  # fmt: skip

    def _multipart(self, sizes: list[int], *, name: str, big: bool) -> None:
        files = [("files", (f"f{i}.bin", os.urandom(size), "application/octet-stream"))
                 for i, size in enumerate(sizes)]  # fmt: skip
        data = {"name": f"{self.name}-{len(self.archives)}"}
        if random.random() < 0.5:
            data["max_downloads"] = str(random.randint(1, 4))
        with self.client.post(
            "/api/archives/", files=files, data=data, headers=self.auth, name=name,
            catch_response=True,
        ) as response:  # fmt: skip
            if response.status_code != 201:
                response.failure(f"{response.status_code}: {response.text[:200]}")
            self._created(response, big=big)

    def _tus(self, size: int, *, name: str, big: bool) -> None:
        headers = {**self.auth, "Tus-Resumable": "1.0.0"}
        body = os.urandom(size)
        created = self.client.post(
            "/api/uploads/",
            headers={**headers, "Upload-Length": str(size),
                     "Upload-Metadata": _tus_metadata(filename="data.bin")},
            name=f"POST /api/uploads/ ({name})",
        )  # fmt: skip
        if created.status_code != 201:
            return
        location = created.headers["Location"]
        upload_id = location.rstrip("/").rsplit("/", 1)[1]
        for offset in range(0, size, TUS_CHUNK):
            chunk = body[offset : offset + TUS_CHUNK]
            answer = self.client.patch(
                f"/api/uploads/{upload_id}",
                data=chunk,
                headers={**headers, "Upload-Offset": str(offset),
                         "Content-Type": "application/offset+octet-stream"},
                name=f"PATCH /api/uploads/<id> ({name})",
            )  # fmt: skip
            if answer.status_code != 204:
                return
        payload: dict[str, Any] = {"uploads": [upload_id],
                                   "name": f"{self.name}-tus-{len(self.archives)}"}  # fmt: skip
        if random.random() < 0.5:
            payload["max_downloads"] = random.randint(1, 4)
        with self.client.post(
            "/api/archives/",
            json=payload,
            headers=self.auth,
            name=f"POST /api/archives/ from uploads ({name})",
            catch_response=True,
        ) as response:  # fmt: skip
            if response.status_code != 201:
                response.failure(f"{response.status_code}: {response.text[:200]}")
            self._created(response, big=big)

    @task(4)
    def upload_small_multipart(self) -> None:
        sizes = [random.randint(1 * KIB, 256 * KIB) for _ in range(random.randint(1, 3))]
        self._multipart(sizes, name="POST /api/archives/ multipart (small)", big=False)

    @task(2)
    def upload_small_tus(self) -> None:
        self._tus(random.randint(1 * KIB, 256 * KIB), name="small", big=False)

    @task(1)
    def upload_big(self) -> None:
        if not _big_uploads.take():
            return
        if random.random() < 0.5:
            self._multipart([BIG_BYTES], name=f"POST /api/archives/ multipart ({BIG})", big=True)
        else:
            self._tus(BIG_BYTES, name=BIG, big=True)

    # Builds --------------------------------------------------------------------------

    @task(6)
    def poll(self) -> None:
        waiting = [key for key, seen in self.archives.items()
                   if seen["status"] in {"pending", "building"}]  # fmt: skip
        if not waiting:
            return
        archive_id = random.choice(waiting)
        answer = self.client.get(
            f"/api/archives/{archive_id}/", headers=self.auth, name="GET /api/archives/<id>/"
        )
        if answer.ok:
            body = answer.json()
            self.archives[archive_id]["status"] = body["status"]
            if body["status"] == "ready":
                with _lock:
                    shared.append((body["slug"], body["size"] or 0))

    @task(2)
    def stats(self) -> None:
        ready = [key for key, seen in self.archives.items() if seen["status"] == "ready"]
        if ready:
            self.client.get(
                f"/api/archives/{random.choice(ready)}/stats/",
                headers=self.auth,
                name="GET /api/archives/<id>/stats/",
            )

    # Visitors of shares --------------------------------------------------------------

    def _some_share(self) -> tuple[str, int] | None:
        with _lock:
            return random.choice(shared) if shared else None

    @task(10)
    def share_page(self) -> None:
        share = self._some_share()
        if share:
            self._expecting(f"/s/{share[0]}/", "GET /s/<slug>/", {200, 404, 410})

    @task(5)
    def share_api(self) -> None:
        share = self._some_share()
        if share:
            self._expecting(f"/api/shares/{share[0]}/", "GET /api/shares/<slug>/", {200, 404, 410})

    def _expecting(
        self, path: str, name: str, statuses: set[int], headers: dict[str, str] | None = None
    ) -> Any:
        with self.client.get(
            path, headers=headers or {}, name=name, allow_redirects=False, catch_response=True
        ) as response:
            if response.status_code in statuses:
                response.success()
            else:
                response.failure(f"{response.status_code}: {response.error or response.text[:200]}")
            return response

    @task(6)
    def download(self) -> None:
        share = self._some_share()
        if not share:
            return
        slug, size = share
        # A new visitor: no grant cookie from an earlier download of this share.
        self.client.cookies.clear()
        response = self._expecting(
            f"/api/shares/{slug}/download", "GET /api/shares/<slug>/download",
            {302, 404, 410},
        )  # fmt: skip
        grant = response.headers.get("X-Download-Grant")
        if response.status_code == 302 and grant:
            self.grants.append((slug, grant, size))
            # Small archives: fetch the first bytes from the bucket, as a browser would.
            if size and size < 2 * MIB:
                self._from_bucket(response.headers["Location"], "bytes=0-1023")

    def _from_bucket(self, location: str, byte_range: str) -> None:
        with self.client.get(
            location, headers={"Range": byte_range}, name="GET <presigned S3 URL> (range)",
            catch_response=True,
        ) as answer:  # fmt: skip
            if answer.status_code not in {200, 206}:
                answer.failure(f"{answer.status_code}: {answer.text[:200]}")

    @task(3)
    def member_download(self) -> None:
        """One file out of a share (its first): counted like the archive for a new visitor,
        stored members by sendfile, deflated ones inflated as they stream. Half of them
        start in the middle of the first KiB; of a large share, only the first 64 KiB."""
        share = self._some_share()
        if not share:
            return
        self.client.cookies.clear()
        start = 512 if random.random() < 0.5 else 0
        end = "65535" if share[1] >= 2 * MIB else ""
        headers = {"Range": f"bytes={start}-{end}"} if start or end else {}
        self._expecting(
            f"/api/shares/{share[0]}/files/0/download", "GET /api/shares/<slug>/files/<i>/download",
            {200, 206, 404, 410, 416}, headers,
        )  # fmt: skip

    @task(2)
    def member_preview(self) -> None:
        share = self._some_share()
        if share:
            self._expecting(f"/s/{share[0]}/files/0/", "GET /s/<slug>/files/<i>/", {200, 404, 410})

    @task(3)
    def resume_with_grant(self) -> None:
        if not self.grants:
            return
        slug, grant, size = random.choice(self.grants)
        start = size // 2 if size else 0
        response = self._expecting(
            f"/api/shares/{slug}/download", "GET /api/shares/<slug>/download (resume, grant)",
            {302, 206, 404, 410, 416},
            {"Range": f"bytes={start}-", "X-Download-Grant": grant},
        )  # fmt: skip
        if response.status_code == 302 and size and size < 2 * MIB:
            self._from_bucket(response.headers["Location"], f"bytes={start}-")

    @task(2)
    def resume_without_grant(self) -> None:
        share = self._some_share()
        if share:
            slug, size = share
            self.client.cookies.clear()
            self._expecting(
                f"/api/shares/{slug}/download",
                "GET /api/shares/<slug>/download (resume, no grant)",
                {302, 206, 404, 410, 416},
                {"Range": f"bytes={size // 2}-"},
            )
