"""Every write of upload requests: the owner's create, edit, close and delete, and a
sender's submission, which becomes an archive of the owner's (``archives.services``)."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.contrib.auth.hashers import check_password, make_password
from django.db import transaction
from django.db.models import F, Q
from django.shortcuts import get_object_or_404

from archives.events import notify
from archives.limits import Caps
from archives.names import clean_archive_name
from archives.services import create_archive
from core.throttle import release_attempt, reserve_attempt
from core.tokens import new_token
from inbox.models import Submission, UploadRequest
from notifications.models import Event
from resumable.services import Binding, take_bound_uploads

if TYPE_CHECKING:
    from collections.abc import Mapping
    from datetime import datetime

    from django.core.files.uploadedfile import UploadedFile

    from accounts.models import User

_UNSET = object()
# What core.tokens.new_token makes: a sender's upload token must look like one.
TOKEN_SHAPE = re.compile(r"[A-Za-z0-9_-]{24}")
# Bytes of a file read at a time to hash it for the sender's receipt.
HASH_BLOCK = 1024 * 1024


class RequestGone(Exception):
    """The request takes no more submissions (410): closed, expired or all used."""


class PasswordRefused(Exception):
    """The sender's password is missing (401), wrong (403) or guessed too often (429,
    ``retry_after`` seconds)."""

    def __init__(self, message: str, *, status_code: int, retry_after: int | None = None) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.retry_after = retry_after


class LimitBelowCount(Exception):
    """A new ``max_submissions`` below the submissions received (400)."""


class Flooded(Exception):
    """Too many submissions or uploads from one address (429), ``retry_after`` seconds to
    wait."""

    def __init__(self, what: str, retry_after: int) -> None:
        super().__init__(f"Too many {what} from your address: try again in {retry_after} seconds.")
        self.retry_after = retry_after


def default_ttl() -> int:
    """The lifetime in seconds of a request whose owner gave no expiry."""
    return settings.UPLOAD_REQUEST_DEFAULT_TTL


def create_request(
    owner: User,
    *,
    name: str,
    message: str,
    password: str,
    expires_at: datetime | None,
    ttl: int | None,
    max_submissions: int | None,
    max_files: int | None,
    max_bytes: int | None,
    archive_ttl: int | None,
    archive_max_downloads: int | None,
    archive_password: str,
    now: datetime,
) -> UploadRequest:
    """A new open request of ``owner``; both passwords are stored hashed. Without
    ``expires_at`` it lives ``ttl`` seconds, or ``default_ttl()``."""
    return UploadRequest.objects.create(
        owner=owner,
        name=name,
        message=message,
        password=_hashed(password),
        expires_at=expires_at or now + timedelta(seconds=ttl or default_ttl()),
        max_submissions=max_submissions,
        max_files=max_files,
        max_bytes=max_bytes,
        archive_ttl=archive_ttl,
        archive_max_downloads=archive_max_downloads,
        archive_password=_hashed(archive_password),
        created_at=now,
    )


def _hashed(password: str) -> str:
    return make_password(password) if password else ""


def update_request(
    upload_request: UploadRequest, *, now: datetime, **changes: object
) -> UploadRequest:
    """Apply the owner's changes to the named columns only (a submission counted meanwhile
    is never lost). ``password`` and ``archive_password`` are hashed, ``""`` clears them;
    ``ttl`` sets the expiry from now; ``closed`` closes (True) or reopens (False)."""
    columns: dict[str, object] = {}
    for field, value in changes.items():
        if field in {"password", "archive_password"}:
            columns[field] = _hashed(str(value))
        elif field == "ttl":
            columns["expires_at"] = now + timedelta(seconds=int(str(value)))
        elif field == "closed":
            columns["closed_at"] = (upload_request.closed_at or now) if value else None
        else:
            columns[field] = value
    rows = UploadRequest.objects.filter(pk=upload_request.pk)
    limit = columns.get("max_submissions")
    if isinstance(limit, int):
        # Never below what was received, also when a submission lands meanwhile.
        rows = rows.filter(submissions_count__lte=limit)
    if columns and not rows.update(**columns):
        count = UploadRequest.objects.get(pk=upload_request.pk).submissions_count
        raise LimitBelowCount(
            f"max_submissions cannot be {limit}: {count} submissions were received already."
        )
    return UploadRequest.objects.get(pk=upload_request.pk)


def delete_request(upload_request: UploadRequest) -> None:
    """Delete the request and its record of submissions; the archives the submissions
    made stay the owner's."""
    upload_request.delete()


def get_owned_request(user: User, request_id: str) -> UploadRequest:
    """The request ``request_id`` of ``user``; ``Http404`` for anyone else's."""
    return get_object_or_404(UploadRequest.objects.filter(owner=user), pk=request_id)


def find_open_request(slug: str, *, now: datetime) -> UploadRequest:
    """The request a sender's link names; ``Http404`` for an unknown slug,
    ``RequestGone`` when it takes no more submissions."""
    upload_request = get_object_or_404(UploadRequest.objects.select_related("owner"), slug=slug)
    refuse_when_gone(upload_request, now=now)
    return upload_request


def refuse_when_gone(upload_request: UploadRequest, *, now: datetime) -> None:
    """Raise ``RequestGone`` saying why when the request takes no more submissions."""
    if upload_request.closed_at is not None:
        raise RequestGone("This upload request was closed by its owner.")
    if upload_request.expires_at <= now:
        raise RequestGone(f"This upload request expired at {upload_request.expires_at}.")
    if upload_request.submissions_left == 0:
        raise RequestGone("This upload request has received all the submissions it takes.")


def password_scope(upload_request: UploadRequest) -> str:
    return f"upload-request:{upload_request.pk}"


def check_sender_password(
    upload_request: UploadRequest, password: str | None, *, client: str, now: datetime
) -> None:
    """Let a sender in with the request's password, or raise ``PasswordRefused``.

    A guess is reserved before it is checked (the share password throttle,
    ``PASSWORD_ATTEMPTS_LIMIT`` per ``PASSWORD_ATTEMPTS_WINDOW``) and given back when
    right, so parallel guesses cannot pass the limit.
    """
    if not upload_request.password:
        return
    if not password:
        raise PasswordRefused(
            "This upload request needs a password: send it in X-Request-Password.",
            status_code=401,
        )
    scope = password_scope(upload_request)
    blocked = reserve_attempt(
        scope,
        client,
        limit=settings.PASSWORD_ATTEMPTS_LIMIT,
        window=settings.PASSWORD_ATTEMPTS_WINDOW,
        now=now,
    )
    if blocked is not None:
        raise PasswordRefused(
            f"Too many wrong passwords: try again in {blocked} seconds.",
            status_code=429,
            retry_after=blocked,
        )
    if not check_password(password, upload_request.password):
        raise PasswordRefused("Wrong password.", status_code=403)
    release_attempt(scope, client)


def count_submission_attempt(*, client: str, now: datetime) -> None:
    """Count one submission from ``client``; ``Flooded`` past
    ``UPLOAD_REQUEST_SUBMISSIONS_PER_ADDRESS`` in ``UPLOAD_REQUEST_SUBMISSIONS_WINDOW``."""
    _count_anonymous(
        "submissions", client, limit=settings.UPLOAD_REQUEST_SUBMISSIONS_PER_ADDRESS, now=now
    )


def count_upload_creation(*, client: str, now: datetime) -> None:
    """Count one tus upload created by ``client`` without an account; ``Flooded`` past
    ``UPLOAD_REQUEST_UPLOADS_PER_ADDRESS`` in ``UPLOAD_REQUEST_SUBMISSIONS_WINDOW``: each
    holds room in its owner's quota until it is submitted or swept."""
    _count_anonymous("uploads", client, limit=settings.UPLOAD_REQUEST_UPLOADS_PER_ADDRESS, now=now)


def _count_anonymous(what: str, client: str, *, limit: int, now: datetime) -> None:
    blocked = reserve_attempt(
        f"upload-request-{what}",
        client,
        limit=limit,
        window=settings.UPLOAD_REQUEST_SUBMISSIONS_WINDOW,
        now=now,
    )
    if blocked is not None:
        raise Flooded(what, blocked)


def caps_of(upload_request: UploadRequest) -> Caps:
    """The request's limits of one submission, for ``archives.limits``."""
    return Caps(files=upload_request.max_files, total=upload_request.max_bytes)


def binding_key(upload_request: UploadRequest) -> str:
    """What a tus upload sent without an account for ``upload_request`` is bound to."""
    return f"upload-request:{upload_request.pk}"


def upload_binding(upload_request: UploadRequest, token: str | None) -> Binding:
    """The binding of a sender's new tus upload: the token the sender holds from an
    earlier upload of this submission when it is one we could have made, a new one
    otherwise. Each upload is checked against the request's total (``max_bytes``)."""
    if token is None or not TOKEN_SHAPE.fullmatch(token):
        token = new_token()
    return Binding(key=binding_key(upload_request), token=token,
                   caps=Caps(total=upload_request.max_bytes))  # fmt: skip


def submit_uploads(
    upload_request: UploadRequest,
    *,
    upload_ids: list[str],
    token: str,
    sender: Sender,
    now: datetime,
) -> Receipt:
    """``submit`` with the sender's finished tus uploads, taken (consumed) in the same
    transaction: a refusal leaves them as they were. Raises ``UploadsNotUsable`` for ids
    that are unknown, unfinished, expired or not sent with ``token`` to this request."""
    with transaction.atomic():
        uploads = take_bound_uploads(binding_key(upload_request), token, upload_ids, now=now)
        return submit(
            upload_request,
            files=[upload.file for upload in uploads],
            paths=[upload.relative_path or upload.filename for upload in uploads],
            sender=sender,
            now=now,
        )


@dataclass(frozen=True)
class Sender:
    """Who sent a submission, as they said (all optional), and from which address."""

    name: str = ""
    email: str = ""
    note: str = ""
    ip: str | None = None

    @classmethod
    def from_fields(cls, data: Mapping[str, Any], *, ip: str | None) -> Sender:
        """From the fields ``sender_name``, ``sender_email`` and ``note`` of a form or
        serializer."""
        return cls(name=data["sender_name"], email=data["sender_email"], note=data["note"], ip=ip)


@dataclass(frozen=True)
class ReceivedFile:
    name: str
    size: int
    sha256: str


@dataclass(frozen=True)
class Receipt:
    """What a sender is told was received."""

    id: str
    request: str
    received_at: datetime
    files: list[ReceivedFile]

    @property
    def total_size(self) -> int:
        return sum(received.size for received in self.files)


def submit(
    upload_request: UploadRequest,
    *,
    files: list[UploadedFile],
    paths: list[str] | None,
    sender: Sender,
    now: datetime,
) -> Receipt:
    """Take a sender's files as a new archive of the request's owner, under the
    request's archive rules, and record the submission; the owner is told
    (``request.submitted``) once committed.

    One conditional UPDATE takes a submission of the request (open, not expired, one
    left), so parallel senders never pass ``max_submissions``. Raises ``RequestGone``
    when none is left, ``LimitExceeded`` over the request's, the archives' or the owner's
    limits and ``StorageFull``; then nothing is kept and the count is unchanged.
    """
    digests = [_sha256(upload) for upload in files]
    with transaction.atomic():
        taken = (
            UploadRequest.objects.filter(
                pk=upload_request.pk, closed_at__isnull=True, expires_at__gt=now
            )
            .filter(Q(max_submissions__isnull=True) | Q(submissions_count__lt=F("max_submissions")))
            .update(submissions_count=F("submissions_count") + 1)
        )
        if not taken:
            refuse_when_gone(UploadRequest.objects.get(pk=upload_request.pk), now=now)
            raise RequestGone("This upload request takes no more submissions.")
        archive = create_archive(
            upload_request.owner,
            files=files,
            name=_archive_name(upload_request, sender.name),
            description=_description(upload_request, sender),
            password="",
            password_hash=upload_request.archive_password,
            ttl=upload_request.archive_ttl,
            max_downloads=upload_request.archive_max_downloads,
            now=now,
            paths=paths,
            caps=caps_of(upload_request),
        )
        submission = Submission.objects.create(
            request=upload_request,
            archive=archive,
            sender_name=sender.name,
            sender_email=sender.email,
            note=sender.note,
            ip=sender.ip or None,
            created_at=now,
        )
        notify(
            Event.SUBMITTED,
            archive,
            now=now,
            extra={"request": {"id": upload_request.pk, "name": upload_request.name},
                   "submission": {"id": submission.pk, "sender_name": sender.name,
                                  "sender_email": sender.email, "note": sender.note}},
        )  # fmt: skip
        members = list(archive.files.values_list("name", "size"))
    return Receipt(
        id=submission.pk,
        request=upload_request.name,
        received_at=now,
        files=[
            ReceivedFile(name=name, size=size, sha256=digest)
            for (name, size), digest in zip(members, digests, strict=True)
        ],
    )


def _sha256(upload: UploadedFile) -> str:
    digest = hashlib.sha256()
    upload.seek(0)
    for block in upload.chunks(HASH_BLOCK):
        digest.update(block)
    upload.seek(0)
    return digest.hexdigest()


def _archive_name(upload_request: UploadRequest, sender_name: str) -> str:
    return clean_archive_name(f"{upload_request.name} ({sender_name or 'anonymous'})")[:200]


def _description(upload_request: UploadRequest, sender: Sender) -> str:
    """What the archive says of where it came from. Its share page shows it to anyone
    the owner gives the link, so the sender's e-mail and note stay in the submission,
    which only the owner sees."""
    who = sender.name or "anonymous"
    return f"Sent through the upload request “{upload_request.name}” by {who}."
