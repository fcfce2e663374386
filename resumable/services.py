"""Every write of resumable uploads: create, receive bytes, terminate, expire, and hand
finished uploads over.

The app the uploads are for stays out of view: its limits come in as the callable named by
``RESUMABLE_UPLOAD_CHECK`` (a setting, as Django names its pluggable backends), and it
takes finished uploads with ``take_finished_uploads`` inside its own transaction.
"""

from __future__ import annotations

import base64
import binascii
import functools
import io
import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any, Protocol

from django.conf import settings
from django.db import transaction
from django.db.models import Sum
from django.http import Http404
from django.utils import timezone
from django.utils.module_loading import import_string

from accounts.quotas import hold_quota
from core.limits import LimitExceeded
from core.tokens import new_token
from resumable import partials
from resumable.checksums import ChecksumMismatch, DigestingBody
from resumable.models import ResumableUpload, token_hash

if TYPE_CHECKING:
    from datetime import datetime

    from accounts.models import User
    from resumable.checksums import Checksum
    from resumable.models import ResumableUploadQuerySet

logger = logging.getLogger(__name__)

# A writing request renews its claim at least this often; a claim older than
# CLAIM_STALE_SECONDS belongs to a request that died, and the next PATCH may take it.
CLAIM_RENEW_SECONDS = 10.0
CLAIM_STALE_SECONDS = 60
MAX_FILENAME = 255
MAX_RELATIVE_PATH = 1024
MAX_METADATA = 8192


class BadUploadRequest(Exception):
    """The request is malformed (400); ``str()`` says what to fix."""


class UploadGone(Exception):
    """The upload expired (410); its bytes are or will soon be removed."""


class OffsetMismatch(Exception):
    """Upload-Offset is not where the upload stands (409)."""

    def __init__(self, *, expected: int) -> None:
        super().__init__(
            f"Upload-Offset does not match: the upload has {expected} bytes; "
            "ask with HEAD and resume from there."
        )
        self.expected = expected


class UploadBusy(Exception):
    """Another request is writing to this upload now (423)."""


class UploadsNotUsable(Exception):
    """Ids given for an archive that are unknown, unfinished, expired or someone else's."""


@dataclass(frozen=True)
class Metadata:
    filename: str
    relative_path: str
    # The header as the client sent it, for HEAD to answer back (tus creation).
    header: str = ""


def parse_metadata(header: str) -> Metadata:
    """Decode ``Upload-Metadata`` (``key base64,key base64``; a key may come without a
    value); ``filename`` is required, ``relativePath`` optional. Raises
    ``BadUploadRequest``."""
    header = header.strip()
    if len(header) > MAX_METADATA:
        raise BadUploadRequest(f"Upload-Metadata is longer than {MAX_METADATA} characters.")
    if not all(" " <= character <= "~" for character in header):
        # Base64 values and ASCII keys only: the header is sent back as it came.
        raise BadUploadRequest("Upload-Metadata may hold printable ASCII characters only.")
    values: dict[str, str] = {}
    for pair in filter(None, (part.strip() for part in header.split(","))):
        key, _, encoded = pair.partition(" ")
        if key in values:
            raise BadUploadRequest(f"Upload-Metadata: the key {key!r} is given twice.")
        try:
            values[key] = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError) as exc:
            raise BadUploadRequest(
                f"Upload-Metadata: the value of {key!r} is not base64 of UTF-8 text."
            ) from exc
    filename = values.get("filename", "")
    if not filename.strip():
        raise BadUploadRequest("Upload-Metadata must carry the file's name as 'filename'.")
    relative_path = values.get("relativePath", "")
    if "\x00" in filename + relative_path:
        raise BadUploadRequest("Upload-Metadata: names may not contain NUL characters.")
    if len(filename) > MAX_FILENAME:
        raise BadUploadRequest(f"The file name is longer than {MAX_FILENAME} characters.")
    if len(relative_path) > MAX_RELATIVE_PATH:
        raise BadUploadRequest(f"The relative path is longer than {MAX_RELATIVE_PATH} characters.")
    return Metadata(filename=filename, relative_path=relative_path, header=header)


class UploadCheck(Protocol):
    """The limits of the app the uploads are for: raises ``LimitExceeded`` when files of
    ``sizes`` may not be stored for ``user`` while uploads still open hold ``reserved``
    bytes; ``caps``, when given, are the stricter limits of the binding, passed through
    as the app that bound the upload gave them."""

    def __call__(
        self, user: User, /, *, sizes: list[int], reserved: int, caps: Any = None
    ) -> None: ...


@functools.cache
def _upload_check(path: str) -> UploadCheck:
    check: UploadCheck = import_string(path)
    return check


def _check_limits(owner: User, *, length: int, now: datetime, caps: object = None) -> None:
    """Unfinished uploads hold their announced length against the quota, so many large
    uploads started at once cannot fill the disk past it. Held before they are summed, so
    parallel creations of one owner each see the others'. Uploads bound to the owner's
    requests count too."""
    hold_quota(owner)
    reserved = (
        ResumableUpload.objects.live(now=now)
        .filter(owner=owner)
        .aggregate(total=Sum("length"))["total"]
        or 0
    )
    check = _upload_check(settings.RESUMABLE_UPLOAD_CHECK)
    check(owner, sizes=[length], reserved=int(reserved), caps=caps)


def _expiry(now: datetime) -> datetime:
    return now + timedelta(seconds=settings.TUS_EXPIRE_SECONDS)


@dataclass(frozen=True)
class Binding:
    """An upload sent without an account: what it is for (opaque here), the token its
    sender holds, and the limits the app that binds it adds (``UploadCheck``'s caps)."""

    key: str
    token: str
    caps: Any = None


def create_upload(
    owner: User,
    *,
    length: int,
    metadata: Metadata,
    now: datetime,
    binding: Binding | None = None,
) -> ResumableUpload:
    """Start an upload of ``length`` bytes for ``owner`` with an empty partial file; with
    a ``binding``, one reached with its token only (``get_bound_upload``).

    Raises ``LimitExceeded`` (``RESUMABLE_UPLOAD_CHECK``, told what open uploads hold)
    before anything is stored, ``StorageFull`` when the disk is full (then no upload is
    created).
    """
    upload = ResumableUpload(
        owner=owner,
        length=length,
        filename=metadata.filename,
        relative_path=metadata.relative_path,
        metadata=metadata.header,
        created_at=now,
        expires_at=_expiry(now),
        completed_at=now if length == 0 else None,
        binding=binding.key if binding else "",
        token_hash=token_hash(binding.token) if binding else "",
    )
    # The check and the row in one transaction: what open uploads hold is read under the
    # owner's lock, so parallel creations cannot all pass the quota.
    with transaction.atomic():
        _check_limits(owner, length=length, now=now, caps=binding.caps if binding else None)
        partials.create_partial(upload.id)
        try:
            upload.save(force_insert=True)
        except BaseException:
            partials.delete_partial(upload.id)
            raise
    return upload


def get_owned_upload(user: User, upload_id: str, *, now: datetime) -> ResumableUpload:
    """The upload ``upload_id`` of ``user``; ``Http404`` for anyone else's or an unknown
    one, ``UploadGone`` once it expired."""
    return _live(ResumableUpload.objects.owned_by(user).filter(pk=upload_id).first(), now=now)


def get_bound_upload(binding: str, token: str, upload_id: str, *, now: datetime) -> ResumableUpload:
    """The upload ``upload_id`` bound to ``binding`` whose sender holds ``token``;
    ``Http404`` without the right token, ``UploadGone`` once it expired."""
    found = ResumableUpload.objects.bound(binding, token).filter(pk=upload_id).first()
    return _live(found, now=now)


def _live(upload: ResumableUpload | None, *, now: datetime) -> ResumableUpload:
    if upload is None:
        raise Http404
    if upload.is_expired(now=now):
        raise UploadGone
    return upload


def receive_bytes(
    upload: ResumableUpload,
    *,
    offset: int,
    body: partials.BodyStream | None,
    content_length: int | None,
    checksum: Checksum | None = None,
    now: datetime,
) -> ResumableUpload:
    """Append the request body at ``offset`` and return the upload as stored afterwards.

    The request first claims the upload with one conditional UPDATE (offset as given, no
    live claim), so two PATCHes at once never write the same file; the claim is renewed
    while the body streams in. A body cut short keeps what arrived, unless a ``checksum``
    (``Upload-Checksum``) came with it: then the body counts only once all of it arrived
    and matched, and the offset does not move before. Raises ``OffsetMismatch``,
    ``UploadBusy``, ``LimitExceeded`` when the body would pass the announced length,
    ``ChecksumMismatch`` when the body received does not match ``checksum``, ``StorageFull``
    when the disk fills (in these three cases the upload keeps the offset it had before
    this body, and nothing of the body), and ``Http404`` when the upload was terminated
    meanwhile.
    """
    if offset != upload.offset:
        raise OffsetMismatch(expected=upload.offset)
    remaining = upload.length - offset
    if content_length is not None and content_length > remaining:
        raise LimitExceeded(
            f"The body of {content_length} bytes would pass the upload's length: "
            f"{remaining} bytes are left."
        )
    token = new_token()
    stale = now - timedelta(seconds=CLAIM_STALE_SECONDS)
    rows = ResumableUpload.objects.claimable(stale_before=stale).filter(
        pk=upload.pk, offset=offset, completed_at__isnull=True
    )
    if not rows.update(claim=token, claimed_at=now):
        current = _stored(upload.pk)
        if current.offset != offset:
            raise OffsetMismatch(expected=current.offset)
        if current.is_complete:
            return current
        raise UploadBusy("Another request is writing to this upload; try again shortly.")
    mine = ResumableUpload.objects.filter(pk=upload.pk, claim=token)
    digesting = None if checksum is None else DigestingBody(body or io.BytesIO(), checksum)
    claim_lost = False

    def keep_claim(reached: int) -> bool:
        # The body may stream for hours: the claim and the expiry count from when bytes
        # last arrived, so the purge never removes an upload being written. Under a
        # checksum nothing of the body counts before all of it is verified.
        nonlocal claim_lost
        renewed = timezone.now()
        moved = {} if checksum is not None else {"offset": reached}
        claim_lost = not mine.update(claimed_at=renewed, expires_at=_expiry(renewed), **moved)
        return not claim_lost

    written = offset
    mismatch = False
    try:
        written = partials.write_partial(
            upload.id,
            body=digesting or body,
            offset=offset,
            limit=remaining if content_length is None else content_length,
            keep_claim=keep_claim,
            renew_every=CLAIM_RENEW_SECONDS,
        )
        received_all = content_length is None or written - offset == content_length
        if digesting is not None and not claim_lost and not (received_all and digesting.matches()):
            # Still ours: no other request writes to the file while the claim holds.
            partials.cut_partial(upload.id, size=offset)
            written, mismatch = offset, True
    finally:
        finished = timezone.now()
        mine.update(
            offset=written,
            claim="",
            claimed_at=None,
            completed_at=finished if written == upload.length else None,
            expires_at=_expiry(finished),
        )
    if mismatch:
        raise ChecksumMismatch(
            "The body received does not match Upload-Checksum: nothing of it was kept, and "
            f"the upload stays at {offset} bytes. Send these bytes again."
        )
    return _stored(upload.pk)


def _stored(upload_id: str) -> ResumableUpload:
    upload = ResumableUpload.objects.filter(pk=upload_id).first()
    if upload is None:
        # Terminated (DELETE) while this request wrote to it.
        raise Http404
    return upload


def start_upload(
    owner: User,
    *,
    length: int,
    metadata: Metadata,
    body: partials.BodyStream | None,
    content_length: int | None,
    checksum: Checksum | None,
    now: datetime,
    binding: Binding | None = None,
) -> ResumableUpload:
    """``create_upload``, then its first bytes from the creation request's own body
    (tus creation-with-upload), and return the upload as stored afterwards.

    The client learns where the upload is only from the answer to this request, so when
    the body cannot be kept whole (a checksum mismatch, a full disk, a body cut short) no
    upload remains: the upload is terminated and the error raised (``ChecksumMismatch``,
    ``StorageFull``, ``BadUploadRequest`` for a body that ended early). Raises
    ``LimitExceeded`` before anything is stored when the body is longer than ``length``.
    """
    if content_length is not None and content_length > length:
        raise LimitExceeded(
            f"The body of {content_length} bytes is longer than the upload's length "
            f"({length} bytes)."
        )
    upload = create_upload(owner, length=length, metadata=metadata, now=now, binding=binding)
    try:
        upload = receive_bytes(
            upload,
            offset=0,
            body=body,
            content_length=content_length,
            checksum=checksum,
            now=now,
        )
    except BaseException:
        terminate_upload(upload)
        raise
    if content_length is not None and upload.offset < content_length:
        terminate_upload(upload)
        raise BadUploadRequest(
            f"The body ended after {upload.offset} of its {content_length} bytes; "
            "no upload was kept."
        )
    return upload


def terminate_upload(upload: ResumableUpload) -> None:
    """Delete the upload and, once committed, its partial file."""
    with transaction.atomic():
        ResumableUpload.objects.filter(pk=upload.pk).delete()
        transaction.on_commit(lambda: partials.delete_partial(upload.id))


def purge_expired_uploads(*, now: datetime) -> int:
    """Remove uploads past their expiry and their partial files; return how many.

    A request writing to an upload pushes its expiry forward as bytes arrive, so an upload
    being written is never removed.
    """
    count = 0
    for upload_id in ResumableUpload.objects.expired(now=now).values_list("pk", flat=True):
        with transaction.atomic():
            deleted, _ = ResumableUpload.objects.expired(now=now).filter(pk=upload_id).delete()
        if deleted:
            partials.delete_partial(upload_id)
            count += 1
    if count:
        logger.info("removed %d expired upload(s)", count)
    return count


def _usable_uploads(
    candidates: ResumableUploadQuerySet, upload_ids: list[str], *, now: datetime
) -> list[ResumableUpload]:
    if len(set(upload_ids)) != len(upload_ids):
        raise UploadsNotUsable("An upload is listed twice.")
    found = {
        upload.pk: upload for upload in candidates.select_for_update().filter(pk__in=upload_ids)
    }
    missing = [upload_id for upload_id in upload_ids if upload_id not in found]
    if missing:
        raise UploadsNotUsable(
            f"No such upload: {', '.join(missing)}. It may have expired, been used for "
            "another archive, or belong to someone else."
        )
    unfinished = [
        upload.filename
        for upload in found.values()
        if not upload.is_complete or upload.is_expired(now=now)
    ]
    if unfinished:
        raise UploadsNotUsable(
            f"Not finished (or expired): {', '.join(unfinished)}. Finish sending these files first."
        )
    return [found[upload_id] for upload_id in upload_ids]


@dataclass(frozen=True)
class TakenUpload:
    """A finished upload handed over: its bytes as a file that moves into place by a
    rename, its file name, and its path in a dropped folder (empty for a single file)."""

    file: partials.FinishedUpload
    filename: str
    relative_path: str


def take_finished_uploads(
    owner: User, upload_ids: list[str], *, now: datetime
) -> list[TakenUpload]:
    """The finished uploads ``upload_ids`` of ``owner``, in the order given, consumed.

    Run it inside the caller's ``transaction.atomic()``: the rows are locked and deleted
    in it, so a caller that fails afterwards rolls back and the uploads stay. The caller
    moves each file away (a rename): with its row gone, nothing else removes it. Raises
    ``UploadsNotUsable`` for unknown, unfinished, expired or others' ids.
    """
    return _take(ResumableUpload.objects.owned_by(owner), upload_ids, now=now)


def take_bound_uploads(
    binding: str, token: str, upload_ids: list[str], *, now: datetime
) -> list[TakenUpload]:
    """``take_finished_uploads`` for uploads bound to ``binding`` and sent with ``token``:
    others' ids are ``UploadsNotUsable`` like unknown ones."""
    return _take(ResumableUpload.objects.bound(binding, token), upload_ids, now=now)


def _take(
    candidates: ResumableUploadQuerySet, upload_ids: list[str], *, now: datetime
) -> list[TakenUpload]:
    uploads = _usable_uploads(candidates, upload_ids, now=now)
    ResumableUpload.objects.filter(pk__in=[upload.pk for upload in uploads]).delete()
    return [
        TakenUpload(
            file=partials.FinishedUpload(upload.id, name=upload.filename, size=upload.length),
            filename=upload.filename,
            relative_path=upload.relative_path,
        )
        for upload in uploads
    ]
