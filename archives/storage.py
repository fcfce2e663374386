"""Where an archive's files live: uploaded sources and the built ZIP, by storage name.

``STORAGE_BACKEND`` (read at every call) chooses the backend; nothing outside this module
asks which one is in use:

- ``local``: files under ``MEDIA_ROOT``. Every name is resolved and checked to stay under
  the root before a file is opened, replaced or removed.
- ``s3``: objects of the same names in a bucket of S3-compatible storage, through one
  boto3 client per process, which every thread shares (boto3's clients are thread-safe;
  a session or resource a thread costs some 17 MiB and 36,000 objects the garbage
  collector scans). Transfers are multipart and streamed, so memory stays flat.
  ``MEDIA_ROOT`` then holds only the local scratch of a worker: a build in progress and
  the sources copied down for it, and the partial files of resumable uploads.
"""

from __future__ import annotations

import contextlib
import functools
import io
import logging
import os
import re
import secrets
import stat
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, Literal, cast

import boto3.session
from boto3.exceptions import Boto3Error
from boto3.s3.transfer import TransferConfig
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError
from django.conf import settings
from django.core.exceptions import SuspiciousFileOperation
from django.utils.http import content_disposition_header
from storages.utils import clean_name, safe_join

from core.media import local_path, open_folder, raising_storage_full, root

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator

    from django.core.files.uploadedfile import UploadedFile

logger = logging.getLogger(__name__)

# Everything boto3 and s3transfer raise for a refused or failed request.
_S3_ERRORS = (BotoCoreError, ClientError, Boto3Error)
_MISSING = {"404", "NoSuchKey", "NotFound"}
# Bytes read from a network stream at a time.
READ_BYTES = 1024 * 1024


class StorageError(OSError):
    """Object storage refused or failed a transfer; ``str()`` says which and why.

    An ``OSError``, so callers handle it as they handle a failing disk."""


def local_entries(names: Iterable[str]) -> Iterator[tuple[str, str]]:
    """The folder and the entry in it of each storage name, for opening or unlinking the
    entry relative to its folder (``dir_fd``) without following links (``O_NOFOLLOW``),
    which act on the entry itself: only the folder is resolved and checked to stay under
    the root, once for all the names in it, since resolving every path costs more than
    reading a small file. Plain strings, as a ``Path`` per file costs as much again.
    Raises ``SuspiciousFileOperation`` for a name outside the root or naming no file."""
    folders: dict[str, str] = {}
    for name in names:
        folder, _, entry = name.rpartition("/")
        if entry in {"", ".", ".."}:
            raise SuspiciousFileOperation(f"storage name {name!r} names no file")
        if folder not in folders:
            folders[folder] = str(local_path(folder) if folder else root())
        yield folders[folder], entry


def source_name(archive_id: str, position: int) -> str:
    return f"uploads/{archive_id}/{position:05d}"


def zip_name(archive_id: str) -> str:
    return f"archives/{archive_id}.zip"


class LocalFolder:
    """Files under ``MEDIA_ROOT``."""

    def save(self, name: str, upload: UploadedFile) -> None:
        path = local_path(name)
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = getattr(upload, "temporary_file_path", None)
        if temporary is not None:
            try:
                # Same file system (FILE_UPLOAD_TEMP_DIR sits beside MEDIA_ROOT by default):
                # no byte is copied again.
                Path(temporary()).replace(path)
                path.chmod(settings.FILE_UPLOAD_PERMISSIONS)
                return
            except OSError:
                logger.debug("rename of %s failed, copying", temporary(), exc_info=True)
        upload.seek(0)
        try:
            with path.open("wb") as handle:
                for chunk in upload.chunks(1024 * 1024):
                    handle.write(chunk)
        except BaseException:
            # No part of a file stays that no row will ever name.
            path.unlink(missing_ok=True)
            raise

    def open(self, name: str, *, start: int = 0, end: int | None = None) -> BinaryIO:
        # A real file: its readers bound themselves (sendfile, a length).
        handle = local_path(name).open("rb")
        handle.seek(start)
        return handle

    def open_seekable(self, name: str) -> BinaryIO:
        return local_path(name).open("rb")

    def check(self, name: str) -> None:
        # Opening, not a stat: a file there that cannot be read is as good as gone.
        with local_path(name).open("rb"):
            pass

    @contextlib.contextmanager
    def staged(self, names: Iterable[str], *, keep_alive: Callable[[], None]) -> Iterator[None]:
        # The sources already are where the build reads them.
        yield

    def publish(self, temporary: Path, name: str) -> None:
        temporary.replace(local_path(name))

    def delete_many(self, names: Iterable[str]) -> None:
        entries: dict[str, list[str]] = {}
        for folder, entry in local_entries(names):
            entries.setdefault(folder, []).append(entry)
        for folder, names_in_folder in entries.items():
            try:
                descriptor = open_folder(folder)
            except FileNotFoundError:
                continue
            try:
                for entry in names_in_folder:
                    with contextlib.suppress(FileNotFoundError):
                        os.unlink(entry, dir_fd=descriptor)
            finally:
                os.close(descriptor)
            _remove_empty_folder(Path(folder))

    def clear_scratch(self, archive_id: str) -> None:
        """Nothing is copied down for a build of local files."""

    def download_url(self, name: str, *, filename: str) -> None:
        """Local files are sent by the app (or nginx), never by a URL of their own."""


class Bucket:
    """Objects in a bucket of S3-compatible storage."""

    def __init__(
        self,
        client: Any,  # boto3 makes its client classes at run time
        *,
        name: str,
        transfer: TransferConfig,
        presign_seconds: int,
        chunk_bytes: int,
    ) -> None:
        self.client = client
        self.name = name
        self.transfer = transfer
        self.presign_seconds = presign_seconds
        self.chunk_bytes = chunk_bytes

    def _key(self, name: str) -> str:
        """The object key of ``name`` under the storage's location; a name that would leave
        it is refused, as ``local_path`` refuses one outside ``MEDIA_ROOT`` (django-storages'
        public ``safe_join``, which its own storage uses)."""
        try:
            return safe_join(BUCKET_LOCATION, clean_name(name))
        except ValueError:
            raise SuspiciousFileOperation(f"{name!r} is outside the bucket's location.") from None

    def _get(self, name: str, byte_range: str | None = None) -> Any:
        """The body of a GET of the object (of ``byte_range`` only, when given)."""
        ranged = {"Range": byte_range} if byte_range else {}
        return self.client.get_object(Bucket=self.name, Key=self._key(name), **ranged)["Body"]

    def _size(self, name: str) -> int:
        """The object's size, from a HEAD."""
        return int(self.client.head_object(Bucket=self.name, Key=self._key(name))["ContentLength"])

    def _upload_to(self, name: str, content_type: str) -> dict[str, Any]:
        """Where and how ``upload_file``/``upload_fileobj`` store an object ``name``."""
        return {"Bucket": self.name, "Key": self._key(name), "Config": self.transfer,
                "ExtraArgs": {"ContentType": content_type}}  # fmt: skip

    def save(self, name: str, upload: UploadedFile) -> None:
        temporary = getattr(upload, "temporary_file_path", None)
        where = self._upload_to(name, "application/octet-stream")
        try:
            if temporary is not None:
                # Reads the spooled file part by part: memory stays flat at any size.
                self.client.upload_file(temporary(), **where)
            else:
                # Only small uploads stay in memory (FILE_UPLOAD_MAX_MEMORY_SIZE).
                upload.seek(0)
                self.client.upload_fileobj(upload, **where)
        except _S3_ERRORS as exc:
            raise StorageError(f"storing {name} in the bucket failed: {exc}") from exc
        if temporary is not None:
            # Consumed, as a rename consumes it on a local disk (a finished resumable
            # upload's partial file would otherwise stay behind).
            Path(temporary()).unlink(missing_ok=True)

    def open(self, name: str, *, start: int = 0, end: int | None = None) -> BinaryIO:
        """A stream of the object's bytes from ``start`` (to ``end``, inclusive, when
        given: one ranged GET of those bytes only), read from the network as they are
        asked for."""
        if end is not None and end < start:
            return io.BytesIO(b"")
        with _object_errors(name, doing=f"reading {name} from the bucket"):
            if end is not None:
                return self._get(name, f"bytes={start}-{end}")
            return self._get(name, f"bytes={start}-" if start else None)

    def open_seekable(self, name: str) -> BinaryIO:
        """The object as a file that seeks: each read past its buffer is a ranged GET of
        at most ``READ_BYTES`` (``RangedObject``)."""
        with _object_errors(name, doing=f"asking the bucket for {name}"):
            size = self._size(name)
        raw = RangedObject(functools.partial(self._get, name), name=name, size=size)
        return io.BufferedReader(raw, buffer_size=READ_BYTES)

    def check(self, name: str) -> None:
        """A HEAD of the object: no byte of it is read."""
        with _object_errors(name, doing=f"asking the bucket for {name}"):
            self._size(name)

    @contextlib.contextmanager
    def staged(self, names: Iterable[str], *, keep_alive: Callable[[], None]) -> Iterator[None]:
        """Copy each source down to its local path for the build; remove the copies
        afterwards, whatever happens.

        The build samples, seeks and re-reads its sources, which a network stream cannot
        do: a local copy next to the build costs disk, not memory. Each object is fetched
        in ranges of ``S3_TRANSFER_CHUNK_BYTES``, each streamed to disk ``READ_BYTES`` at
        a time, calling ``keep_alive`` after each range so the build's heartbeat goes on.
        """
        copies: list[Path] = []
        try:
            for name in names:
                path = local_path(name)
                path.parent.mkdir(parents=True, exist_ok=True)
                copies.append(path)
                try:
                    self._copy_down(name, path, keep_alive=keep_alive)
                except _S3_ERRORS as exc:
                    raise StorageError(f"reading {name} from the bucket failed: {exc}") from exc
            yield
        finally:
            for path in copies:
                path.unlink(missing_ok=True)
                _remove_empty_folder(path.parent)

    def _copy_down(self, name: str, path: Path, *, keep_alive: Callable[[], None]) -> None:
        size = self._size(name)
        with path.open("wb") as handle:
            for start in range(0, size, self.chunk_bytes):
                end = min(start + self.chunk_bytes, size) - 1
                with self._get(name, f"bytes={start}-{end}") as body:
                    while data := body.read(READ_BYTES):
                        handle.write(data)
                keep_alive()

    def publish(self, temporary: Path, name: str) -> None:
        """Upload the finished ZIP by multipart upload, check the object's size, then
        remove the local file; on any error no object is left."""
        size = temporary.stat().st_size
        try:
            self.client.upload_file(str(temporary), **self._upload_to(name, "application/zip"))
            stored = self._size(name)
        except _S3_ERRORS as exc:
            self.delete_many([name])
            raise StorageError(f"storing {name} in the bucket failed: {exc}") from exc
        if stored != size:
            self.delete_many([name])
            raise StorageError(f"the bucket holds {stored} bytes of {name}, not {size}")
        temporary.unlink(missing_ok=True)

    def files(self, folders: Iterable[str]) -> Iterator[tuple[str, float]]:
        """The name of every object under ``folders``, with when it was written."""
        for folder in folders:
            prefix = self._key(folder) + "/"
            pages = self.client.get_paginator("list_objects_v2").paginate(
                Bucket=self.name, Prefix=prefix
            )
            with _object_errors(prefix, doing="listing the bucket"):
                for page in pages:
                    for summary in page.get("Contents", []):
                        yield summary["Key"], summary["LastModified"].timestamp()

    def delete_many(self, names: Iterable[str]) -> None:
        keys = [self._key(name) for name in names]
        # DeleteObjects takes up to 1,000 keys a request; a missing key is no error.
        for start in range(0, len(keys), 1000):
            batch = [{"Key": key} for key in keys[start : start + 1000]]
            try:
                answer = self.client.delete_objects(
                    Bucket=self.name, Delete={"Objects": batch, "Quiet": True}
                )
            except _S3_ERRORS as exc:
                raise StorageError(f"removing objects from the bucket failed: {exc}") from exc
            if answer.get("Errors"):
                error = answer["Errors"][0]
                raise StorageError(
                    f"removing {error.get('Key')} from the bucket failed: {error.get('Message')}"
                )

    def clear_scratch(self, archive_id: str) -> None:
        """Remove the copies of sources a build that died left on this machine."""
        folder = local_path(f"uploads/{archive_id}")
        for leftover in folder.glob("*") if folder.is_dir() else ():
            leftover.unlink(missing_ok=True)
        _remove_empty_folder(folder)

    def download_url(self, name: str, *, filename: str) -> str:
        """A presigned GET of the object, valid ``S3_PRESIGN_SECONDS``, that the bucket
        answers as a ZIP attachment named ``filename`` (RFC 6266), with Range support."""
        parameters = {
            "Bucket": self.name,
            "Key": self._key(name),
            "ResponseContentDisposition": content_disposition_header(
                as_attachment=True, filename=filename
            ),
            "ResponseContentType": "application/zip",
            "ResponseCacheControl": "private, no-store",
        }
        return self.client.generate_presigned_url(
            "get_object", Params=parameters, ExpiresIn=self.presign_seconds
        )


class RangedObject(io.RawIOBase):
    """An object of the bucket read where it is sought to, one ranged GET a read: what
    ``zipfile`` needs to read a stored ZIP's directory and members without the rest."""

    def __init__(self, get: Callable[[str], Any], *, name: str, size: int) -> None:
        """``get`` answers the body of a GET of the Range it is given."""
        super().__init__()
        self._get = get
        self._name = name
        self._size = size
        self._position = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._position

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        base = {os.SEEK_SET: 0, os.SEEK_CUR: self._position, os.SEEK_END: self._size}[whence]
        if base + offset < 0:
            raise ValueError(f"negative position {base + offset} in {self._name}")
        self._position = base + offset
        return self._position

    def readinto(self, buffer: Any) -> int:  # a writable buffer (memoryview, bytearray)
        end = min(self._position + len(buffer), self._size)
        if end <= self._position:
            return 0
        doing = f"reading {self._name} from the bucket"
        with _object_errors(self._name, doing=doing):
            body = self._get(f"bytes={self._position}-{end - 1}")
            try:
                data = body.read()
            finally:
                body.close()
        view = memoryview(buffer).cast("B")
        view[: len(data)] = data
        self._position += len(data)
        return len(data)


@contextlib.contextmanager
def _object_errors(name: str, *, doing: str) -> Iterator[None]:
    """``FileNotFoundError`` for an object the bucket does not hold, ``StorageError`` for
    any other failure of the bucket or of reaching it."""
    try:
        yield
    except ClientError as exc:
        if _error_code(exc) in _MISSING:
            raise FileNotFoundError(f"{name} is not in the bucket") from exc
        raise StorageError(f"{doing} failed: {exc}") from exc
    except _S3_ERRORS as exc:
        raise StorageError(f"{doing} failed: {exc}") from exc


def _error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def _remove_empty_folder(folder: Path) -> None:
    if folder != root() and folder.parent != root():
        # uploads/<archive_id>/ folders go once empty.
        with contextlib.suppress(OSError):
            folder.rmdir()


# Where in the bucket the objects are: its root.
BUCKET_LOCATION = ""
# Connections to the bucket a process keeps open for reuse.
CONNECTIONS = 32
# AWS_S3_ADDRESSING_STYLE's choices (the settings refuse any other), as botocore names them.
AddressingStyle = Literal["auto", "path", "virtual"]


@functools.cache
def _bucket(
    *,
    bucket_name: str,
    endpoint_url: str,
    region_name: str,
    access_key: str,
    secret_key: str,
    addressing_style: str,
    presign_seconds: int,
    chunk_bytes: int,
) -> Bucket:
    transfer = TransferConfig(
        multipart_threshold=chunk_bytes,
        multipart_chunksize=chunk_bytes,
        max_concurrency=4,
        use_threads=True,
    )
    client = boto3.session.Session().client(
        "s3",
        endpoint_url=endpoint_url or None,
        region_name=region_name or None,
        # Empty keys: boto3 finds credentials itself (instance role, web identity).
        aws_access_key_id=access_key or None,
        aws_secret_access_key=secret_key or None,
        config=Config(
            # botocore would presign with the deprecated version 2 in some regions.
            signature_version="s3v4",
            s3={"addressing_style": cast("AddressingStyle", addressing_style)},
            # Every thread of the process shares the client and its connections; past
            # this many at once, a connection is opened for the request and then closed.
            max_pool_connections=CONNECTIONS,
        ),
    )
    return Bucket(
        client,
        name=bucket_name,
        transfer=transfer,
        presign_seconds=presign_seconds,
        chunk_bytes=chunk_bytes,
    )


def backend() -> LocalFolder | Bucket:
    """The backend the settings name now (tests change them between calls)."""
    if settings.STORAGE_BACKEND != "s3":
        return LocalFolder()
    return _bucket(
        bucket_name=settings.AWS_STORAGE_BUCKET_NAME,
        endpoint_url=settings.AWS_S3_ENDPOINT_URL,
        region_name=settings.AWS_S3_REGION_NAME,
        access_key=settings.AWS_ACCESS_KEY_ID,
        secret_key=settings.AWS_SECRET_ACCESS_KEY,
        addressing_style=settings.AWS_S3_ADDRESSING_STYLE,
        presign_seconds=settings.S3_PRESIGN_SECONDS,
        chunk_bytes=settings.S3_TRANSFER_CHUNK_BYTES,
    )


def save_source(name: str, upload: UploadedFile) -> None:
    """Store an uploaded file under ``name``: a rename when Django spooled it to disk and
    storage is local, a multipart upload from that file to a bucket.

    Raises ``StorageFull`` when the disk (or quota) is full and another ``OSError``
    (``StorageError``) when storage fails; then no part of the file is stored."""
    with raising_storage_full():
        backend().save(name, upload)


def open_stored(name: str, *, start: int = 0, end: int | None = None) -> BinaryIO:
    """The stored file's bytes from ``start`` as a stream; ``FileNotFoundError`` when it
    is gone. A local file is a real file (``fileno()``, positioned at ``start``); from a
    bucket, ``end`` (inclusive) bounds the one GET, so no byte past it is sent."""
    return backend().open(name, start=start, end=end)


def open_stored_seekable(name: str) -> BinaryIO:
    """The stored file as a file that seeks (``zipfile`` reads it), reading from a bucket
    only the ranges asked for; ``FileNotFoundError`` when it is gone."""
    return backend().open_seekable(name)


def check_stored(name: str) -> None:
    """Return if the stored file ``name`` is there and can be read; raise
    ``FileNotFoundError`` when it is gone, another ``OSError`` when it cannot be read, and
    ``StorageError`` when a bucket could not be asked."""
    backend().check(name)


def staged_sources(
    names: Iterable[str], *, keep_alive: Callable[[], None]
) -> contextlib.AbstractContextManager[None]:
    """Within the block, each source name's bytes are at ``local_path(name)``.

    ``keep_alive`` is called now and then while sources are fetched (it may raise to stop);
    raises ``StorageError`` when a source cannot be fetched. Copies made for the block are
    removed when it ends.
    """
    return backend().staged(names, keep_alive=keep_alive)


def temporary_zip_path(archive_id: str) -> Path:
    """A fresh local path beside the final ZIP, for a build in progress."""
    final = local_path(zip_name(archive_id))
    final.parent.mkdir(parents=True, exist_ok=True)
    return final.with_name(f".{final.name}.{secrets.token_hex(6)}.part")


_PARTIAL_BUILD = re.compile(r"archives/\.(?P<archive_id>[^/]+)\.zip\.[0-9a-f]+\.part")


def publish_zip(temporary: Path, archive_id: str) -> str:
    """Move a complete ZIP into place atomically; return its storage name.

    Afterwards the ZIP is stored whole (with a bucket: the object exists with the local
    file's size) and ``temporary`` is gone; raises ``OSError`` (``StorageError``) when it
    could not be stored, leaving no partial object.
    """
    name = zip_name(archive_id)
    backend().publish(temporary, name)
    return name


def delete(name: str) -> None:
    """Remove storage ``name``; a missing file is not an error (deletes are retried)."""
    delete_many([name])


def delete_many(names: Iterable[str]) -> None:
    """Remove every storage name of ``names`` (empty ones are skipped), in as few
    operations as the backend allows; missing files are not an error."""
    wanted = [name for name in names if name]
    if wanted:
        backend().delete_many(wanted)


def remove_partial_builds(archive_id: str) -> None:
    """Remove leftovers of builds that died before publishing."""
    backend().clear_scratch(archive_id)
    folder = local_path(zip_name(archive_id)).parent
    if not folder.exists():
        return
    for leftover in folder.glob(f".{archive_id}.zip.*.part"):
        leftover.unlink(missing_ok=True)


def remove_archive_files(archive_id: str, names: list[str]) -> None:
    """Remove the stored files ``names`` of an archive and what its dead builds left.

    Missing files are no error, so this is safe to repeat; raises ``OSError``
    (``StorageError`` for a bucket) when storage fails.
    """
    delete_many(names)
    remove_partial_builds(archive_id)


def local_files(folders: Iterable[str]) -> Iterator[tuple[str, float]]:
    """The storage name of every file under the local ``folders`` (of ``MEDIA_ROOT``,
    whatever the backend), with the time it last changed: written, or moved into place,
    as a rename of an upload spooled long before changes it (the later of its ``mtime``
    and ``ctime``, a POSIX timestamp). Links are not followed."""
    base = root()
    for folder in folders:
        start = local_path(folder)
        for directory, _, entries in os.walk(start):
            for entry in entries:
                path = Path(directory, entry)
                with contextlib.suppress(FileNotFoundError):  # removed meanwhile
                    status = path.lstat()
                    if stat.S_ISREG(status.st_mode):
                        changed = max(status.st_mtime, status.st_ctime)
                        yield path.relative_to(base).as_posix(), changed


def bucket_files(folders: Iterable[str]) -> Iterator[tuple[str, float]]:
    """The storage name of every object under ``folders`` in the bucket, with the time
    it was written (a POSIX timestamp); nothing when files are kept on a local disk."""
    store = backend()
    if isinstance(store, Bucket):
        yield from store.files(folders)


def delete_local_files(names: Iterable[str]) -> None:
    """Remove local files of ``names`` under ``MEDIA_ROOT`` (whatever the backend), and
    their ``uploads/<id>/`` folders once empty; missing files are not an error."""
    LocalFolder().delete_many(names)


def partial_build_archive_id(name: str) -> str | None:
    """The archive id of a build's temporary ZIP named ``name``
    (``temporary_zip_path``), None for any other name."""
    match = _PARTIAL_BUILD.fullmatch(name)
    return match["archive_id"] if match else None


def download_url(name: str, *, filename: str) -> str | None:
    """A short-lived URL from which the client fetches the ZIP itself, named
    ``filename``; None when the app sends the file."""
    return backend().download_url(name, filename=filename)
