"""Real download programs (Debian's wget, curl and aria2c, as `.ci/run` installs them)
against the project behind gunicorn: each is interrupted part-way, resumed by a new
process, and must end with the archive's exact bytes, counted once (DESIGN section 9)."""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import subprocess
from typing import TYPE_CHECKING, NamedTuple

import pytest

from archives.models import Archive, Download
from sharing.downloads import grant_budget
from tests.conftest import wait_until

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

# Big enough for aria2c to split in 1 MiB pieces and for the bytes a killed client leaves
# in socket buffers to stay well inside the grant's 10% slack; small enough to build and
# send in moments.
SIZE = 24 * 1024 * 1024
# Slow enough to interrupt part-way, fast enough to get there at once.
RATE = "4M"
# aria2c resumes in four connections and moves pieces between them, dropping the bytes a
# connection it closes had received but not read: read at a bounded rate, they stay few.
RESUME_RATE = "32M"
CLIENTS = ("wget", "curl", "aria2c")
# Stop the first run once this much arrived.
PART = 2 * 1024 * 1024


def require(program: str) -> str:
    path = shutil.which(program)
    if path is None:
        pytest.skip(f"{program} is not installed (.ci/run installs it)")
    return path


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1024 * 1024), b""):
            digest.update(block)
    return digest.hexdigest()


def first_run(client: str, url: str, folder: Path) -> list[str]:
    """The command that starts a download at a limited rate."""
    if client == "wget":
        return [require("wget"), "-q", f"--limit-rate={RATE}", "-O", "archive.zip", url]
    if client == "curl":
        return [require("curl"), "-sS", "--limit-rate", RATE, "-o", "archive.zip", url]
    return [
        require("aria2c"), "-q", "-x4", "-s4", "-k1M", "--file-allocation=none",
        f"--max-overall-download-limit={RATE}", f"--save-cookies={folder / 'cookies.txt'}",
        "-d", str(folder), "-o", "archive.zip", url,
    ]  # fmt: skip


def resume_run(client: str, url: str, folder: Path) -> list[str]:
    """The command that resumes it in a new process: wget and curl have no grant any
    more, aria2c has the cookie jar it saved on the way out."""
    if client == "wget":
        return [require("wget"), "-q", "-c", "-O", "archive.zip", url]
    if client == "curl":
        return [require("curl"), "-sS", "-f", "-C", "-", "-o", "archive.zip", url]
    return [
        require("aria2c"), "-q", "-c", "-x4", "-s4", "-k1M", "--file-allocation=none",
        f"--max-overall-download-limit={RESUME_RATE}", f"--load-cookies={folder / 'cookies.txt'}",
        "-d", str(folder), "-o", "archive.zip", url,
    ]  # fmt: skip


def fresh_run(client: str, url: str, folder: Path) -> list[str]:
    """A whole new download, in a new process."""
    if client == "wget":
        return [require("wget"), "-q", "-O", "again.zip", url]
    if client == "curl":
        return [require("curl"), "-sS", "-f", "-o", "again.zip", url]
    # With the cookie jar of its first run, if any: a finished download's grant gives no
    # second copy either.
    cookies = folder / "cookies.txt"
    jar = [f"--load-cookies={cookies}"] if cookies.exists() else []
    return [require("aria2c"), "-q", *jar, "-d", str(folder), "-o", "again.zip", url]


def status_of(url: str) -> str:
    """The HTTP status curl gets for a whole new download of ``url``."""
    command = [require("curl"), "-s", "-o", os.devnull, "-w", "%{http_code}", url]
    return subprocess.run(command, capture_output=True, text=True, check=True).stdout


def has_part(part: Path, *, size: int) -> bool:
    """Whether some of the archive (and not all) was written: counted in blocks, as
    aria2c writes its pieces at their offsets into a file that looks whole at once."""
    if not part.exists():
        return False
    written = part.stat().st_blocks * 512
    return PART <= written < size


def interrupt(client: str, url: str, folder: Path, *, size: int) -> None:
    """Start ``client`` and stop it once part of the archive (and not all) arrived: wget
    and curl are killed, aria2c is stopped as Ctrl-C stops it (it then saves its control
    file and its cookies)."""
    process = subprocess.Popen(first_run(client, url, folder), cwd=folder)
    try:
        got_part = wait_until(lambda: has_part(folder / "archive.zip", size=size), timeout=60)
    finally:
        process.send_signal(signal.SIGINT if client == "aria2c" else signal.SIGKILL)
        process.wait(timeout=30)
    assert got_part, f"{client} got no part of the archive"


def download_completely(client: str, url: str, folder: Path, *, size: int) -> Path:
    """Interrupt ``client`` part-way and resume it in a new process; returns the file."""
    folder.mkdir()
    interrupt(client, url, folder, size=size)
    # Until the server has seen the connection end, the response keeps the bytes it was
    # allowed from the grant (the rest of the archive), and a resume would find too few
    # left: wait until what it did not send is given back.
    assert wait_until(
        lambda: (
            not Download.objects.filter(bytes_sent=0).exists()
            and not Download.objects.filter(completed=False, grant_used__gte=size).exists()
        )
    )
    result = folder / "archive.zip"
    resumed = subprocess.run(resume_run(client, url, folder), cwd=folder, check=False)
    assert resumed.returncode == 0, f"{client} did not resume"
    return result


def logged(archive: Archive) -> list[Download]:
    """The archive's download rows once the server recorded what it sent."""

    def settled() -> bool:
        rows = Download.objects.filter(archive=archive)
        return all(row.completed for row in rows)

    wait_until(settled)
    return list(Download.objects.filter(archive=archive).order_by("at", "pk"))


class Shared(NamedTuple):
    archive: Archive
    size: int
    url: str


@pytest.fixture
def share_big(gunicorn: str, make_archive: Callable[..., Archive]) -> Callable[[int], Shared]:
    """An archive of ``SIZE`` random bytes with a limit, and its download URL behind
    gunicorn."""

    def share(max_downloads: int) -> Shared:
        archive = make_archive({"data.bin": os.urandom(SIZE)}, max_downloads=max_downloads)
        url = f"{gunicorn}/api/shares/{archive.slug}/download"
        return Shared(archive, archive.size or 0, url)

    return share


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("client", CLIENTS)
def test_a_client_resumes_a_limit_of_one_in_a_new_process_and_gets_one_copy(
    share_big: Callable[[int], Shared], tmp_path: Path, client: str
) -> None:
    archive, size, url = share_big(1)

    result = download_completely(client, url, tmp_path / client, size=size)

    assert sha256_of(result) == archive.sha256
    assert Archive.objects.get(pk=archive.pk).download_count == 1
    [download] = logged(archive)
    assert (download.bytes_sent, download.completed) == (size, True)
    # A second whole copy, by any of them (aria2c with its grant cookie), is refused.
    for other in CLIENTS:
        again = subprocess.run(fresh_run(other, url, tmp_path / client), cwd=tmp_path / client)
        assert again.returncode != 0, f"{other} got a second copy"
        copy = tmp_path / client / "again.zip"
        assert not copy.exists() or copy.stat().st_size == 0
    assert status_of(url) == "410"
    assert Archive.objects.get(pk=archive.pk).download_count == 1


@pytest.mark.django_db(transaction=True)
def test_each_client_uses_one_download_of_a_limit_of_three(
    share_big: Callable[[int], Shared], tmp_path: Path
) -> None:
    archive, size, url = share_big(3)

    for used, client in enumerate(CLIENTS, start=1):
        result = download_completely(client, url, tmp_path / client, size=size)
        assert sha256_of(result) == archive.sha256
        assert Archive.objects.get(pk=archive.pk).download_count == used

    downloads = logged(archive)
    assert [(row.bytes_sent, row.completed) for row in downloads] == [(size, True)] * 3
    assert status_of(url) == "410"


@pytest.mark.django_db(transaction=True)
def test_aria2c_in_four_connections_finishes_and_is_logged_complete_once(
    share_big: Callable[[int], Shared], tmp_path: Path
) -> None:
    archive, size, url = share_big(1)
    command = [
        require("aria2c"), "-q", "-x4", "-s4", "-k1M", "--file-allocation=none",
        "-d", str(tmp_path), "-o", "archive.zip", url,
    ]  # fmt: skip

    finished = subprocess.run(command, cwd=tmp_path, check=False)

    assert finished.returncode == 0
    assert sha256_of(tmp_path / "archive.zip") == archive.sha256
    [download] = logged(archive)
    assert (download.bytes_sent, download.completed) == (size, True)
    assert Archive.objects.get(pk=archive.pk).download_count == 1
    assert download.grant_used <= grant_budget(size)
