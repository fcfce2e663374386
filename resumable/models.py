"""Uploads in progress with the tus protocol: how much arrived, whose, until when."""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import models
from django.db.models import Q

from core.tokens import new_token

if TYPE_CHECKING:
    from datetime import datetime

    from accounts.models import User


def token_hash(token: str) -> str:
    """What is stored of a bound upload's token: its sha256, hex."""
    return hashlib.sha256(token.encode()).hexdigest()


class ResumableUploadQuerySet(models.QuerySet["ResumableUpload"]):
    def owned_by(self, user: User) -> ResumableUploadQuerySet:
        """The user's own uploads: not those sent without an account into their requests."""
        return self.filter(owner=user, binding="")

    def bound(self, binding: str, token: str) -> ResumableUploadQuerySet:
        """Uploads bound to ``binding`` whose sender holds ``token``."""
        return (
            self.filter(binding=binding, token_hash=token_hash(token)) if binding else self.none()
        )

    def live(self, *, now: datetime) -> ResumableUploadQuerySet:
        return self.filter(expires_at__gt=now)

    def expired(self, *, now: datetime) -> ResumableUploadQuerySet:
        return self.filter(expires_at__lte=now)

    def claimable(self, *, stale_before: datetime) -> ResumableUploadQuerySet:
        """Uploads no request is writing to, or whose writer stopped renewing its claim."""
        return self.filter(Q(claim="") | Q(claimed_at__lt=stale_before))


if TYPE_CHECKING:
    # What Manager.from_queryset builds at run time, spelt out for the type checker.
    class ResumableUploadManager(models.Manager["ResumableUpload"], ResumableUploadQuerySet): ...
else:
    ResumableUploadManager = models.Manager.from_queryset(ResumableUploadQuerySet)


class ResumableUpload(models.Model):
    """One file on its way in; its bytes so far are in ``partials/<id>`` (resumable.partials)."""

    id = models.CharField(primary_key=True, max_length=32, default=new_token, editable=False)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="resumable_uploads"
    )
    # Upload-Length: the size the client announced; offset: the bytes stored so far.
    length = models.BigIntegerField()
    offset = models.BigIntegerField(default=0)
    filename = models.CharField(max_length=255)
    # The path inside a dropped folder ("photos/2024/a.jpg"); empty for a single file.
    relative_path = models.CharField(max_length=1024, blank=True)
    # Upload-Metadata as the client sent it at creation: HEAD answers it back unchanged.
    metadata = models.TextField(blank=True)
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    completed_at = models.DateTimeField(null=True, blank=True)
    # An upload sent without an account, for another app (an upload request): what it is
    # bound to, opaque here, and the sha256 (hex) of the token its sender holds; both
    # empty for an owner's own upload. A bound upload is reached with its token only.
    binding = models.CharField(max_length=64, blank=True)
    token_hash = models.CharField(max_length=64, blank=True)
    # The request writing now: a random token and when it last renewed it; empty when idle.
    claim = models.CharField(max_length=32, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)

    objects = ResumableUploadManager()

    class Meta:
        indexes = [models.Index(fields=["expires_at"])]
        constraints = [
            models.CheckConstraint(
                condition=Q(offset__gte=0) & Q(offset__lte=models.F("length")),
                name="resumable_offset_within_length",
            ),
        ]

    def __str__(self) -> str:
        return self.filename

    @property
    def is_complete(self) -> bool:
        return self.offset == self.length

    def is_expired(self, *, now: datetime) -> bool:
        return self.expires_at <= now
