"""Upload requests and what senders submitted through them."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.conf import settings
from django.db import models
from django.db.models import F, Q

from core.tokens import new_token

if TYPE_CHECKING:
    from datetime import datetime


class UploadRequest(models.Model):
    """An owner's request for files: a public slug, limits per submission and the rules
    of the archives the submissions become."""

    id = models.CharField(primary_key=True, max_length=32, default=new_token, editable=False)
    slug = models.CharField(max_length=32, unique=True, default=new_token, editable=False)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="upload_requests"
    )
    name = models.CharField(max_length=200)
    message = models.TextField(blank=True)
    # Hashed (Django's hashers); empty for none. Senders give it to submit.
    password = models.CharField(max_length=128, blank=True)
    expires_at = models.DateTimeField()
    # Null: no limit.
    max_submissions = models.PositiveIntegerField(null=True, blank=True)
    submissions_count = models.PositiveIntegerField(default=0)
    # Per submission; null: the archives' own limits apply.
    max_files = models.PositiveIntegerField(null=True, blank=True)
    max_bytes = models.BigIntegerField(null=True, blank=True)
    # The rules of each archive a submission makes: lifetime in seconds (null: the
    # default), download limit, password (hashed, stored on the archive as it is).
    archive_ttl = models.PositiveIntegerField(null=True, blank=True)
    archive_max_downloads = models.PositiveIntegerField(null=True, blank=True)
    archive_password = models.CharField(max_length=128, blank=True)
    created_at = models.DateTimeField()
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "id"]
        indexes = [models.Index(fields=["owner", "-created_at"])]
        constraints = [
            models.CheckConstraint(
                condition=Q(max_submissions__isnull=True)
                | Q(submissions_count__lte=F("max_submissions")),
                name="upload_request_count_within_limit",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def has_password(self) -> bool:
        return bool(self.password)

    @property
    def submissions_left(self) -> int | None:
        if self.max_submissions is None:
            return None
        return max(self.max_submissions - self.submissions_count, 0)

    def is_open(self, *, now: datetime) -> bool:
        """Whether a sender may submit now: not closed, not expired, submissions left."""
        return self.closed_at is None and self.expires_at > now and self.submissions_left != 0


class Submission(models.Model):
    """One sender's files, received as the archive ``archive`` of the request's owner."""

    id = models.CharField(primary_key=True, max_length=32, default=new_token, editable=False)
    request = models.ForeignKey(UploadRequest, on_delete=models.CASCADE, related_name="submissions")
    # Null once the owner deleted the archive; the record of the submission stays.
    archive = models.OneToOneField(
        "archives.Archive",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="submission",
    )
    sender_name = models.CharField(max_length=200, blank=True)
    sender_email = models.EmailField(blank=True)
    note = models.TextField(blank=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["-created_at", "id"]
        indexes = [models.Index(fields=["request", "-created_at"])]

    def __str__(self) -> str:
        return f"{self.request_id} at {self.created_at:%Y-%m-%d %H:%M:%S}"
