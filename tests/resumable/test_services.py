"""The writes of resumable uploads: bytes received under a claim (and a checksum), uploads
started with their first bytes, terminated, and purged past their expiry."""

from __future__ import annotations

import hashlib
import io
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from io import StringIO
from typing import TYPE_CHECKING

import pytest
import requests
import time_machine
from django.core.management import call_command
from django.http import Http404
from django.utils import timezone

from accounts.services import issue_token
from resumable import partials, services
from resumable.checksums import Checksum, ChecksumMismatch
from resumable.models import ResumableUpload
from resumable.partials import partial_path
from resumable.services import (
    BadUploadRequest,
    Metadata,
    create_upload,
    parse_metadata,
    receive_bytes,
    start_upload,
    terminate_upload,
)
from resumable.tasks import purge_expired_uploads_task
from tests.resumable.api.test_views import TUS, metadata, send, start, upload_id

if TYPE_CHECKING:
    from pytest_django.fixtures import Settings as DjangoSettings
    from pytest_django.live_server_helper import LiveServer
    from rest_framework.test import APIClient

    from accounts.models import User


pytestmark = pytest.mark.django_db


def new_upload(owner: User, *, length: int) -> ResumableUpload:
    return create_upload(
        owner,
        length=length,
        metadata=Metadata(filename="a.txt", relative_path=""),
        now=timezone.now(),
    )


@pytest.mark.django_db
def test_abandoned_uploads_expire_and_are_purged(api: APIClient, settings: DjangoSettings) -> None:
    location = start(api, 10)["Location"]
    send(api, location, b"hello", offset=0)
    pk = location.rsplit("/", 1)[1]
    fresh = start(api, 10)["Location"]
    later = timezone.now() + timedelta(seconds=settings.TUS_EXPIRE_SECONDS - 60)
    with time_machine.travel(later, tick=False):
        # Activity keeps an upload alive: this one was written to just now.
        send(api, fresh, b"hi", offset=0)
    with time_machine.travel(later + timedelta(minutes=2), tick=False):
        assert api.head(location, **TUS).status_code == 410
        assert send(api, location, b"world", offset=5).status_code == 410
        assert purge_expired_uploads_task() == 1
    assert not ResumableUpload.objects.filter(pk=pk).exists()
    assert not partial_path(pk).exists()
    assert api.head(fresh, **TUS)["Upload-Offset"] == "2"


@pytest.mark.django_db
def test_purge_command_removes_expired_uploads(api: APIClient, settings: DjangoSettings) -> None:
    pk = upload_id(start(api, 10))
    with time_machine.travel(
        timezone.now() + timedelta(seconds=settings.TUS_EXPIRE_SECONDS + 1), tick=False
    ):
        call_command("purge_expired_uploads", stdout=StringIO())
    assert not ResumableUpload.objects.filter(pk=pk).exists()
    assert not partial_path(pk).exists()


@pytest.mark.django_db(transaction=True)
def test_parallel_uploads_started_at_once_stay_within_the_quota(
    live_server: LiveServer, user: User, settings: DjangoSettings
) -> None:
    settings.USER_QUOTA_BYTES = 1_000_000
    token = issue_token(user)
    parallel = 6

    def create(n: int) -> int:
        response = requests.post(
            f"{live_server.url}/api/uploads/",
            headers={
                "Authorization": f"Token {token}",
                "Tus-Resumable": "1.0.0",
                "Upload-Length": "400000",
                "Upload-Metadata": metadata(filename=f"part-{n}.bin"),
            },
            timeout=60,
        )
        return response.status_code

    with ThreadPoolExecutor(max_workers=parallel) as pool:
        statuses = Counter(pool.map(create, range(parallel)))

    assert statuses == {201: 2, 413: parallel - 2}
    assert ResumableUpload.objects.filter(owner=user).count() == 2


class ShortBody(io.BytesIO):
    """A body that ends before the length its request declared (the client went away)."""


def test_a_checksummed_body_moves_the_offset_only_once_verified(
    user: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(partials, "READ_BYTES", 4)
    # Every block renews the claim: the renewals must not move the offset.
    monkeypatch.setattr(services, "CLAIM_RENEW_SECONDS", 0.0)
    upload = new_upload(user, length=12)
    offsets: list[int] = []

    class Watched(io.BytesIO):
        def read(self, size: int | None = -1, /) -> bytes:
            offsets.append(ResumableUpload.objects.get(pk=upload.pk).offset)
            return super().read(size)

    data = b"0123456789ab"
    stored = receive_bytes(
        upload,
        offset=0,
        body=Watched(data),
        content_length=12,
        checksum=Checksum("sha1", hashlib.sha1(data).digest()),
        now=timezone.now(),
    )

    assert offsets == [0, 0, 0]
    assert stored.offset == 12
    assert stored.is_complete


def test_a_checksummed_body_cut_short_keeps_nothing(user: User) -> None:
    upload = new_upload(user, length=10)
    data = b"hello"

    with pytest.raises(ChecksumMismatch):
        receive_bytes(
            upload,
            offset=0,
            body=ShortBody(data[:3]),
            content_length=5,
            checksum=Checksum("sha256", hashlib.sha256(data).digest()),
            now=timezone.now(),
        )

    stored = ResumableUpload.objects.get(pk=upload.pk)
    assert (stored.offset, stored.claim) == (0, "")
    assert partial_path(upload.pk).read_bytes() == b""


def test_a_body_without_checksum_cut_short_keeps_what_arrived(user: User) -> None:
    upload = new_upload(user, length=10)

    stored = receive_bytes(
        upload, offset=0, body=ShortBody(b"hel"), content_length=5, now=timezone.now()
    )

    assert stored.offset == 3
    assert partial_path(upload.pk).read_bytes() == b"hel"


def test_an_upload_terminated_while_written_to_answers_404(
    user: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(partials, "READ_BYTES", 2)
    monkeypatch.setattr(services, "CLAIM_RENEW_SECONDS", 0.0)
    upload = new_upload(user, length=10)

    class Cancelled(io.BytesIO):
        def read(self, size: int | None = -1, /) -> bytes:
            if self.tell() == 2:
                terminate_upload(upload)
            return super().read(size)

    with pytest.raises(Http404):
        receive_bytes(
            upload, offset=0, body=Cancelled(b"hello"), content_length=5, now=timezone.now()
        )

    assert not ResumableUpload.objects.filter(pk=upload.pk).exists()


def test_start_upload_keeps_no_upload_when_its_body_ends_early(user: User) -> None:
    with pytest.raises(BadUploadRequest, match="ended after 3 of its 5 bytes"):
        start_upload(
            user,
            length=10,
            metadata=Metadata(filename="a.txt", relative_path=""),
            body=ShortBody(b"hel"),
            content_length=5,
            checksum=None,
            now=timezone.now(),
        )

    assert not ResumableUpload.objects.exists()


def test_parse_metadata_keeps_the_header_as_sent() -> None:
    header = " filename YS50eHQ=,relativePath ZC9hLnR4dA==,flag "

    parsed = parse_metadata(header)

    assert parsed == Metadata(
        filename="a.txt",
        relative_path="d/a.txt",
        header="filename YS50eHQ=,relativePath ZC9hLnR4dA==,flag",
    )
