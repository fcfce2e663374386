"""The ZIP build, run for real on files in a temporary media folder."""

from __future__ import annotations

import gc
import hashlib
import random
import resource
import shutil
import subprocess
import unicodedata
import zipfile
from typing import TYPE_CHECKING, Any

import pytest
from django.utils import timezone
from prometheus_client import REGISTRY

from archives import build, storage
from archives.build import build_archive
from archives.models import Archive, Status
from archives.names import unique_names
from archives.services import create_archive
from archives.tasks import build_archive_task
from archives.zipping.pipeline import BLOCK, BuiltZip
from tests.conftest import upload

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from datetime import datetime
    from pathlib import Path

    from pytest_django import DjangoCaptureOnCommitCallbacks as CaptureCallbacks
    from pytest_django.fixtures import Settings as DjangoSettings

    from accounts.models import User

UTF8_FLAG = 0x800


def log_text(size: int, *, seed: int = 1) -> bytes:
    """Log-like text: compresses well, but not trivially (numbers and tokens vary)."""
    rng = random.Random(seed)
    lines = []
    length = 0
    while length < size:
        line = (
            f"{1_700_000_000 + length // 50}.{rng.randrange(10**6):06d} "
            f"{rng.choice(['INFO', 'INFO', 'DEBUG', 'WARNING', 'ERROR'])} "
            f"web[{rng.randrange(1000, 1100)}] 10.0.{rng.randrange(256)}.{rng.randrange(256)} "
            f'"GET /s/{rng.getrandbits(64):016x}/ HTTP/1.1" {rng.choice([200, 206, 404])} '
            f"{rng.randrange(10**7)} took={rng.random() * 100:.3f}ms\n"
        )
        lines.append(line)
        length += len(line)
    return "".join(lines).encode()[:size]


def random_bytes(size: int, *, seed: int = 2) -> bytes:
    return random.Random(seed).randbytes(size)


def create(user: User, files: list[tuple[str, bytes]]) -> Archive:
    """A pending archive of ``files`` (names may repeat), as the upload API stores it."""
    return create_archive(
        user,
        files=[upload(name, data) for name, data in files],
        name="Build test",
        description="",
        password="",
        ttl=3600,
        max_downloads=None,
        now=timezone.now(),
    )


def build_now(archive: Archive) -> Archive:
    """Run the build as a worker does: the task, which then queues the sources' removal."""
    build_archive_task(archive.id)
    return Archive.objects.get(pk=archive.pk)


def zip_path(archive: Archive) -> Path:
    assert archive.status == Status.READY, archive.error
    return storage.local_path(archive.zip_name)


def assert_unzip_accepts(path: Path) -> None:
    result = subprocess.run(["unzip", "-t", str(path)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "No errors detected" in result.stdout


def partial_files() -> list[Path]:
    folder = storage.root() / "archives"
    return list(folder.glob("*.part")) if folder.exists() else []


@pytest.fixture
def require_unzip() -> None:
    if shutil.which("unzip") is None:
        pytest.skip("Info-ZIP unzip is not installed")


def test_built_zip_passes_testzip_and_unzip(
    user: User, require_unzip: None, django_capture_on_commit_callbacks: CaptureCallbacks
) -> None:
    files = [
        ("log.txt", log_text(3 * BLOCK + 12_345)),
        ("noise.bin", random_bytes(2 * BLOCK + 7)),
        ("small.txt", b"hello world\n" * 300),
        ("empty.txt", b""),
        ("inner.csv", b"a,b,c\n1,2,3\n" * 1000),
        ("exactly-one-block.txt", log_text(BLOCK, seed=3)),
    ]
    archive = create(user, files)
    with django_capture_on_commit_callbacks(execute=True):
        archive = build_now(archive)
    path = zip_path(archive)

    with zipfile.ZipFile(path) as built:
        assert built.testzip() is None
        assert built.namelist() == [name for name, _ in files]
        for name, data in files:
            assert built.read(name) == data
    assert_unzip_accepts(path)
    content = path.read_bytes()
    assert archive.size == len(content)
    assert archive.sha256 == hashlib.sha256(content).hexdigest()
    assert [row.sha256 for row in archive.files.all()] == [
        hashlib.sha256(data).hexdigest() for _, data in files
    ]
    assert archive.progress == 100
    assert not (storage.root() / "uploads" / archive.id).exists()
    assert partial_files() == []


NASTY_NAMES = [
    "../x",
    "/etc/passwd",
    "C:\\x",
    "a\x00b.txt",
    "bell\x07\nnew line\r.txt",
    "invoice\u202etxt.exe",
    "x" * 300,
    "y" * 300 + ".txt",
    "",
    "...",
    "///",
    "report.pdf",
    "report.pdf",
    "REPORT.PDF",
    "Отчёт за март.txt",
    "日本語/ファイル.txt",
]


def test_uploaded_names_reach_the_zip_sanitised_and_unique(user: User) -> None:
    # Django itself refuses upload names with nothing left after the last slash.
    accepted = [name for name in NASTY_NAMES if name.rpartition("/")[2] not in {"", ".", ".."}]
    files = [(name, f"file {i}\n".encode()) for i, name in enumerate(accepted)]
    delivered = [upload(name, b"").name or "" for name in accepted]
    archive = build_now(create(user, files))

    with zipfile.ZipFile(zip_path(archive)) as built:
        names = built.namelist()
        assert built.testzip() is None
    assert names == unique_names(delivered)
    assert names == [row.name for row in archive.files.all()]


def test_nasty_names_are_written_safely_and_extract_inside_the_folder(
    user: User, require_unzip: None, tmp_path: Path
) -> None:
    # Folder uploads keep their paths, so the rows may hold any name the sanitiser
    # returns, folders included.
    files = [(f"upload-{i}", f"file {i}\n".encode()) for i in range(len(NASTY_NAMES))]
    archive = create(user, files)
    safe = unique_names(NASTY_NAMES)
    for row, name in zip(archive.files.all(), safe, strict=True):
        row.name = name
        row.save(update_fields=["name"])
    path = zip_path(build_now(archive))

    with zipfile.ZipFile(path) as built:
        infos = built.infolist()
        names = [info.filename for info in infos]
        assert names == safe
        for info, (_, data) in zip(infos, files, strict=True):
            assert built.read(info) == data
            is_ascii = info.filename.isascii()
            assert bool(info.flag_bits & UTF8_FLAG) == (not is_ascii), info.filename
    assert names[:3] == ["x", "etc/passwd", "x (1)"]
    assert names[8:11] == ["file", "file (1)", "file (2)"]
    assert names[11:14] == ["report.pdf", "report (1).pdf", "REPORT (2).PDF"]
    assert len({name.casefold() for name in names}) == len(names)
    for name in names:
        assert not name.startswith("/")
        assert "\\" not in name
        segments = name.split("/")
        assert all(segment not in {"", ".", ".."} for segment in segments)
        assert all(len(segment.encode()) <= 255 for segment in segments)
        assert not any(unicodedata.category(ch) in {"Cc", "Cf"} for ch in name)
    # Extracting writes every member inside the target folder and nowhere else.
    target = tmp_path / "out"
    result = subprocess.run(
        ["unzip", "-q", str(path), "-d", str(target)], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    extracted = sorted(p.relative_to(target).as_posix() for p in target.rglob("*") if p.is_file())
    assert extracted == sorted(names)


def test_progress_moves_through_intermediate_values(
    user: User, settings: DjangoSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings.BUILD_PROGRESS_INTERVAL = 0
    seen: list[int] = []
    real_report = build.report_progress

    def recording_report(archive_id: str, *, progress: int, now: datetime) -> bool:
        seen.append(progress)
        return real_report(archive_id, progress=progress, now=now)

    monkeypatch.setattr(build, "report_progress", recording_report)
    files = [("a.log", log_text(6 * BLOCK)), ("b.bin", random_bytes(4 * BLOCK))]
    archive = build_now(create(user, files))

    assert archive.status == Status.READY
    assert seen == sorted(seen)
    assert len({value for value in seen if 0 < value < 100}) >= 5
    assert archive.progress == 100


def test_progress_is_written_at_a_bounded_rate(
    user: User, settings: DjangoSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings.BUILD_PROGRESS_INTERVAL = 3600
    seen: list[int] = []
    monkeypatch.setattr(build, "report_progress", lambda *a, **k: seen.append(1) or True)
    archive = build_now(create(user, [("a.log", log_text(4 * BLOCK))]))

    assert archive.status == Status.READY
    assert seen == []


@pytest.mark.parametrize("fails", [False, True], ids=["ready", "failed"])
def test_the_garbage_collector_rests_during_a_build_and_resumes_after(
    user: User, monkeypatch: pytest.MonkeyPatch, *, fails: bool
) -> None:
    archive = create(user, [("a.txt", log_text(1000))])
    seen: list[bool] = []
    real_write = build.write_zip

    def recording_write(*args: Any, **kwargs: Any) -> BuiltZip:
        seen.append(gc.isenabled())
        if fails:
            raise build.BuildError("stop here")
        return real_write(*args, **kwargs)

    monkeypatch.setattr(build, "write_zip", recording_write)
    assert gc.isenabled()

    archive = build_now(archive)

    assert seen == [False]
    assert archive.status == (Status.FAILED if fails else Status.READY)
    assert gc.isenabled()


@pytest.mark.parametrize("size", [1000, 3 * BLOCK], ids=["small", "large"])
def test_unreadable_source_fails_the_build_and_keeps_the_sources(user: User, size: int) -> None:
    archive = create(user, [("first.txt", log_text(size)), ("second.txt", log_text(size))])
    rows = list(archive.files.all())
    broken = storage.local_path(rows[1].source_name)
    broken.unlink()
    broken.mkdir()  # opening a folder fails even for root

    archive = build_now(archive)

    assert archive.status == Status.FAILED
    assert archive.error == "Could not read the uploaded file 'second.txt': Is a directory."
    assert archive.zip_name == ""
    assert storage.local_path(rows[0].source_name).read_bytes() == log_text(size)
    assert partial_files() == []
    assert not storage.local_path(storage.zip_name(archive.id)).exists()


def test_source_that_changed_size_fails_the_build(user: User) -> None:
    archive = create(user, [("grows.txt", log_text(2 * BLOCK))])
    source = storage.local_path(archive.files.get().source_name)
    with source.open("ab") as handle:
        handle.write(b"more")

    archive = build_now(archive)

    assert archive.status == Status.FAILED
    assert "changed size" in archive.error
    assert partial_files() == []


@pytest.fixture
def file_size_limit() -> Iterator[Callable[[int], None]]:
    """Cap the size of files this process writes (writes past it fail with EFBIG, as
    Python ignores SIGXFSZ); the limit is lifted afterwards."""
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)

    def limit(size: int) -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (size, hard))

    yield limit
    resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))


def test_write_error_fails_the_build_without_a_partial_file(
    user: User, file_size_limit: Callable[[int], None]
) -> None:
    archive = create(user, [("noise.bin", random_bytes(12 * BLOCK))])
    # Past the test database's own size, so only the ZIP hits the limit.
    file_size_limit(8 * BLOCK)

    archive = build_now(archive)

    assert archive.status == Status.FAILED
    assert archive.error == "The archive could not be written: File too large."
    assert partial_files() == []
    assert storage.local_path(archive.files.get().source_name).exists()


def test_build_of_a_claimed_archive_does_nothing(user: User) -> None:
    archive = create(user, [("a.txt", b"abc")])
    Archive.objects.filter(pk=archive.pk).update(status=Status.BUILDING)

    build_archive(archive.id)

    archive.refresh_from_db()
    assert archive.status == Status.BUILDING
    assert partial_files() == []


def test_source_replaced_by_a_link_is_not_followed(user: User, tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_bytes(b"not yours")
    archive = create(user, [("innocent.txt", b"hello")])
    source = storage.local_path(archive.files.get().source_name)
    source.unlink()
    source.symlink_to(secret)

    archive = build_now(archive)

    assert archive.status == Status.FAILED
    assert archive.error.startswith("Could not read the uploaded file 'innocent.txt'")
    assert partial_files() == []


def test_source_folder_replaced_by_a_link_is_not_followed(user: User, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    archive = create(user, [("innocent.txt", b"hello")])
    source = storage.local_path(archive.files.get().source_name)
    (outside / source.name).write_bytes(b"not yours")
    shutil.rmtree(source.parent)
    source.parent.symlink_to(outside)

    archive = build_now(archive)

    assert archive.status == Status.FAILED
    assert archive.error == "An uploaded file is stored outside the storage folder."


def test_missing_source_folder_fails_the_build(user: User) -> None:
    archive = create(user, [("first.txt", b"one"), ("second.txt", b"two")])
    shutil.rmtree(storage.local_path(archive.files.all()[0].source_name).parent)

    archive = build_now(archive)

    assert archive.status == Status.FAILED
    assert archive.error == (
        "Could not read the uploaded file 'first.txt': No such file or directory."
    )
    assert partial_files() == []


def builds_counted(result: str) -> float:
    return REGISTRY.get_sample_value("awaiting_death_builds_total", {"result": result}) or 0.0


def build_seconds_observed() -> tuple[float, float]:
    count = REGISTRY.get_sample_value("awaiting_death_build_seconds_count") or 0.0
    total = REGISTRY.get_sample_value("awaiting_death_build_seconds_sum") or 0.0
    return count, total


def test_every_build_that_ends_is_counted_with_its_result_and_wall_time(user: User) -> None:
    ready, failed = builds_counted("ready"), builds_counted("failed")
    observed, seconds = build_seconds_observed()
    good = create(user, [("first.txt", b"one")])
    broken = create(user, [("second.txt", b"two")])
    shutil.rmtree(storage.local_path(broken.files.get().source_name).parent)

    assert build_now(good).status == Status.READY
    assert build_now(broken).status == Status.FAILED
    build_now(good)  # claimed already: no build, nothing counted

    assert builds_counted("ready") == ready + 1
    assert builds_counted("failed") == failed + 1
    now_observed, now_seconds = build_seconds_observed()
    assert now_observed == observed + 2
    assert now_seconds > seconds


def _truncate(path: Path) -> None:
    with path.open("r+b") as handle:
        handle.truncate(path.stat().st_size - 1)


def _append(path: Path) -> None:
    with path.open("ab") as handle:
        handle.write(b"\0")


def _change_directory(path: Path) -> None:
    # The first central header's file name: one byte of the directory, same length.
    with zipfile.ZipFile(path) as archive_zip:
        start = archive_zip.start_dir
    with path.open("r+b") as handle:
        handle.seek(start + 46)
        first = handle.read(1)
        handle.seek(start + 46)
        handle.write(bytes([first[0] ^ 0x20]))


@pytest.mark.parametrize(
    ("tamper", "error"),
    [
        (_truncate, "The built archive does not have the length that was written."),
        (_append, "The built archive does not have the length that was written."),
        (_change_directory, "The built archive does not match the uploaded files."),
    ],
    ids=["truncated", "longer", "directory-changed"],
)
def test_a_zip_changed_after_writing_fails_the_build_and_keeps_the_sources(
    user: User, monkeypatch: pytest.MonkeyPatch, tamper: Callable[[Path], None], error: str
) -> None:
    archive = create(user, [("a.txt", log_text(1000)), ("b.log", log_text(3 * BLOCK))])
    sources = [storage.local_path(row.source_name) for row in archive.files.all()]
    real_write = build.write_zip

    def write_then_tamper(destination: Path, *args: Any, **kwargs: Any) -> BuiltZip:
        built = real_write(destination, *args, **kwargs)
        tamper(destination)
        return built

    monkeypatch.setattr(build, "write_zip", write_then_tamper)

    archive = build_now(archive)

    assert archive.status == Status.FAILED
    assert archive.error == error
    assert [path.read_bytes() for path in sources] == [log_text(1000), log_text(3 * BLOCK)]
    assert partial_files() == []
    assert not storage.local_path(storage.zip_name(archive.id)).exists()


def _data_offset(path: Path, info: zipfile.ZipInfo) -> int:
    """Where a member's data starts, from its local header (APPNOTE 4.3.7)."""
    with path.open("rb") as handle:
        handle.seek(info.header_offset)
        header = handle.read(30)
    name_length = int.from_bytes(header[26:28], "little")
    extra_length = int.from_bytes(header[28:30], "little")
    return info.header_offset + 30 + name_length + extra_length


def test_the_build_records_each_members_preview_place_and_thumbnail(user: User) -> None:
    from io import BytesIO

    from PIL import Image

    picture = BytesIO()
    Image.new("RGB", (640, 480), (10, 120, 200)).save(picture, format="PNG")
    files = [
        ("photo.png", picture.getvalue()),
        ("notes.txt", log_text(3 * BLOCK + 5)),
        ("page.png", b"<html><script>alert(1)</script></html>"),
        ("noise.bin", random_bytes(BLOCK // 2)),
        ("пустой.txt", b""),
    ]
    archive = build_now(create(user, files))
    path = zip_path(archive)

    rows = {row.name: row for row in archive.files.all()}
    with zipfile.ZipFile(path) as built:
        for info in built.infolist():
            row = rows[info.filename]
            assert row.method == info.compress_type
            assert row.compressed_size == info.compress_size
            assert row.data_offset == _data_offset(path, info)
    assert [(rows[name].preview, rows[name].content_type) for name, _ in files] == [
        ("image", "image/png"),
        ("text", "text/plain; charset=utf-8"),
        ("", ""),
        ("", ""),
        ("", ""),
    ]
    assert rows["notes.txt"].method == zipfile.ZIP_DEFLATED
    assert rows["noise.bin"].method == zipfile.ZIP_STORED
    thumbnail = Image.open(BytesIO(bytes(rows["photo.png"].thumbnail)))
    assert thumbnail.size == (256, 192)
    assert [name for name, row in rows.items() if row.thumbnail] == ["photo.png"]
