"""Archives, the files inside them and the log of their downloads."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.conf import settings
from django.db import models
from django.db.models import F, Q

from core.tokens import new_token

if TYPE_CHECKING:
    from datetime import datetime

    from accounts.models import User


class Status(models.TextChoices):
    PENDING = "pending"
    BUILDING = "building"
    READY = "ready"
    FAILED = "failed"
    EXPIRED = "expired"


class ArchiveQuerySet(models.QuerySet["Archive"]):
    def owned_by(self, user: User) -> ArchiveQuerySet:
        return self.filter(owner=user)

    def expired(self, *, now: datetime) -> ArchiveQuerySet:
        """Archives past their lifetime or with their download limit used."""
        return self.filter(
            Q(expires_at__lte=now)
            | Q(max_downloads__isnull=False, download_count__gte=F("max_downloads"))
        )

    def stalled(self, *, before: datetime) -> ArchiveQuerySet:
        """Builds queued or running whose last sign of life is older than ``before``."""
        return self.filter(
            Q(status=Status.BUILDING, heartbeat_at__lt=before)
            | Q(status=Status.PENDING, queued_at__lt=before)
        )


if TYPE_CHECKING:
    # What Manager.from_queryset builds at run time, spelt out for the type checker.
    class ArchiveManager(models.Manager["Archive"], ArchiveQuerySet): ...
else:
    ArchiveManager = models.Manager.from_queryset(ArchiveQuerySet)


def remaining_downloads(*, limit: int | None, count: int) -> int | None:
    """The downloads ``limit`` still allows after ``count`` of them, for an archive and a
    recipient link alike: None without a limit, never below 0 (a limit lowered under the
    count)."""
    if limit is None:
        return None
    return max(limit - count, 0)


class Archive(models.Model):
    id = models.CharField(primary_key=True, max_length=32, default=new_token, editable=False)
    slug = models.CharField(max_length=32, unique=True, default=new_token, editable=False)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="archives"
    )
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    progress = models.PositiveSmallIntegerField(default=0)
    error = models.TextField(blank=True)
    # Bytes of the uploaded sources, and of the built ZIP once ready.
    source_size = models.BigIntegerField(default=0)
    size = models.BigIntegerField(null=True, blank=True)
    sha256 = models.CharField(max_length=64, blank=True)
    # Storage name of the built ZIP; empty until ready and after purge.
    zip_name = models.CharField(max_length=255, blank=True)
    password = models.CharField(max_length=128, blank=True)
    expires_at = models.DateTimeField()
    max_downloads = models.PositiveIntegerField(null=True, blank=True)
    download_count = models.PositiveIntegerField(default=0)
    build_attempts = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField()
    queued_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    built_at = models.DateTimeField(null=True, blank=True)
    purged_at = models.DateTimeField(null=True, blank=True)
    # Visits of the share page (the default link), counted apart from downloads.
    view_count = models.PositiveIntegerField(default=0)
    # The integrity scrub: when the stored ZIP was last re-hashed, and what it found.
    scrubbed_at = models.DateTimeField(null=True, blank=True)
    integrity_error = models.TextField(blank=True)
    # When the reading of its members' places and previews from the stored ZIP was last
    # queued (archives.indexing), for an archive built before the build recorded them.
    members_queued_at = models.DateTimeField(null=True, blank=True)
    # Why that reading found the stored ZIP unreadable (gone, not a ZIP, a member not where
    # its directory says); empty otherwise. Such an archive is not queued again.
    members_error = models.TextField(blank=True)

    objects = ArchiveManager()

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["owner", "-created_at"]),
            models.Index(fields=["status"]),
            models.Index(fields=["expires_at"]),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(progress__lte=100), name="archive_progress_at_most_100"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def has_password(self) -> bool:
        return bool(self.password)

    def is_expired(self, *, now: datetime) -> bool:
        return self.expires_at <= now

    @property
    def downloads_left(self) -> int | None:
        return remaining_downloads(limit=self.max_downloads, count=self.download_count)

    @property
    def is_used_up(self) -> bool:
        return self.downloads_left == 0

    def public_status(self, *, now: datetime) -> str:
        """The status a reader sees: ``expired`` once the lifetime or the limit is used."""
        if self.status == Status.EXPIRED or self.is_expired(now=now) or self.is_used_up:
            return Status.EXPIRED
        return self.status

    @property
    def download_filename(self) -> str:
        return f"{self.name}.zip"


class ArchiveFile(models.Model):
    """One uploaded file and the name it gets inside the ZIP."""

    archive = models.ForeignKey(Archive, on_delete=models.CASCADE, related_name="files")
    position = models.PositiveIntegerField()
    name = models.CharField(max_length=1024)
    original_name = models.CharField(max_length=1024)
    size = models.BigIntegerField()
    sha256 = models.CharField(max_length=64, blank=True)
    # Storage name of the uploaded source; empty once the sources leave storage.
    source_name = models.CharField(max_length=255, blank=True)
    # Set by the build from the member's first bytes (archives.zipping.sniffing): the
    # preview it may have (image, text, audio, video, pdf; empty: download only) and the
    # media type its raw bytes are sent with.
    preview = models.CharField(max_length=8, blank=True)
    content_type = models.CharField(max_length=64, blank=True)
    # Where the member lies in the built ZIP: its ZIP method (0 stored, 8 deflated), the
    # offset of its data and the bytes of that data. Null until built.
    method = models.PositiveSmallIntegerField(null=True, blank=True)
    data_offset = models.BigIntegerField(null=True, blank=True)
    compressed_size = models.BigIntegerField(null=True, blank=True)
    # A small PNG of an image member, made by the build (Pillow); empty otherwise.
    thumbnail = models.BinaryField(blank=True, default=b"")

    class Meta:
        ordering = ["position"]
        constraints = [
            models.UniqueConstraint(fields=["archive", "position"], name="file_position_unique"),
            models.UniqueConstraint(fields=["archive", "name"], name="file_name_unique"),
        ]

    def __str__(self) -> str:
        return self.name


class LinkQuerySet(models.QuerySet["Link"]):
    def live(self) -> LinkQuerySet:
        return self.filter(revoked_at__isnull=True)


if TYPE_CHECKING:

    class LinkManager(models.Manager["Link"], LinkQuerySet): ...
else:
    LinkManager = models.Manager.from_queryset(LinkQuerySet)


class Link(models.Model):
    """A recipient link: one more way into an archive, with its own label, password,
    limit and expiry, revocable on its own. The archive's own slug is the default link."""

    id = models.CharField(primary_key=True, max_length=32, default=new_token, editable=False)
    slug = models.CharField(max_length=32, unique=True, default=new_token, editable=False)
    archive = models.ForeignKey(Archive, on_delete=models.CASCADE, related_name="links")
    label = models.CharField(max_length=100)
    password = models.CharField(max_length=128, blank=True)
    # Null: only the archive's own limit and lifetime apply.
    max_downloads = models.PositiveIntegerField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    download_count = models.PositiveIntegerField(default=0)
    view_count = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = LinkManager()

    class Meta:
        ordering = ["created_at"]

    def __str__(self) -> str:
        return self.label

    @property
    def has_password(self) -> bool:
        return bool(self.password)

    def is_expired(self, *, now: datetime) -> bool:
        return self.expires_at is not None and self.expires_at <= now

    @property
    def effective_expiry(self) -> datetime:
        """The expiry that applies: the link's own or its archive's, whichever comes
        first."""
        if self.expires_at is not None and self.expires_at < self.archive.expires_at:
            return self.expires_at
        return self.archive.expires_at

    @property
    def downloads_left(self) -> int | None:
        return remaining_downloads(limit=self.max_downloads, count=self.download_count)

    @property
    def is_used_up(self) -> bool:
        return self.downloads_left == 0


class Download(models.Model):
    """One counted download of an archive, through its own link or a recipient link."""

    archive = models.ForeignKey(Archive, on_delete=models.CASCADE, related_name="downloads")
    link = models.ForeignKey(
        Link, on_delete=models.SET_NULL, null=True, blank=True, related_name="downloads"
    )
    at = models.DateTimeField()
    ip = models.GenericIPAddressField(null=True, blank=True)
    referer = models.CharField(max_length=512, blank=True)
    user_agent = models.CharField(max_length=512, blank=True)
    # ?src= of the link followed (a newsletter, a channel), sanitised.
    source = models.CharField(max_length=64, blank=True)
    # The bytes of the ZIP this download sent, as the union of the ranges sent (resumes
    # and parallel ranges included, each byte once), and whether that union covers the
    # whole ZIP. ``ranges`` keeps the union: sorted, merged, half-open [start, end) pairs.
    bytes_sent = models.BigIntegerField(default=0)
    completed = models.BooleanField(default=False)
    ranges = models.JSONField(default=list, blank=True)
    # Bytes of the grant's budget in use: reserved before a response is sent, the part
    # not sent given back after it (sharing.downloads); never past the budget.
    grant_used = models.BigIntegerField(default=0)
    # Which password the share had when this download was counted (an HMAC of its hash,
    # sharing.downloads.password_mark): a grant found again without its token (a lost
    # grant) ends with a new password, as the token's hash does.
    password_mark = models.CharField(max_length=64, blank=True)
    # sha256 (hex) of the grant this download was given (sharing.downloads); the token
    # itself is never stored. NULL (not "", which would collide under unique) for
    # downloads counted before grants were stored.
    grant_hash = models.CharField(max_length=64, unique=True, null=True, blank=True)
    # The names of the ZIP's members sent on this download's grant (DESIGN section 10),
    # each once, in the order first asked for; empty when only the ZIP was.
    members = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["archive", "-at"])]

    def __str__(self) -> str:
        return f"{self.archive_id} at {self.at:%Y-%m-%d %H:%M:%S}"


class AuditEntry(models.Model):
    """One change an owner made: who, when, what, from what to what. Passwords appear as
    "set" or "cleared", never in clear. Kept after the archive is deleted."""

    archive_id = models.CharField(max_length=32, db_index=True)
    archive_name = models.CharField(max_length=200)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    at = models.DateTimeField()
    action = models.CharField(max_length=32)
    field = models.CharField(max_length=32, blank=True)
    old = models.TextField(blank=True)
    new = models.TextField(blank=True)

    class Meta:
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"{self.archive_id} {self.action} {self.field}"
