"""The one table of the shared pieces: failed attempts counted per window."""

from __future__ import annotations

from django.db import models


class FailureWindow(models.Model):
    """Failed attempts of one kind (``scope``) from one source (``key``) in a time window:
    wrong share passwords per archive and client, failed logins per username and per IP.

    Kept in the database, not a cache, so the count is exact across processes and
    parallel requests.
    """

    scope = models.CharField(max_length=64)
    key = models.CharField(max_length=255)
    window_start = models.DateTimeField()
    failures = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["scope", "key"], name="failure_window_unique"),
        ]
        indexes = [models.Index(fields=["window_start"], name="failure_window_start")]

    def __str__(self) -> str:
        return f"{self.scope} {self.key}: {self.failures}"
