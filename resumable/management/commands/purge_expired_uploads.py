from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand
from django.utils import timezone

from resumable.services import purge_expired_uploads


class Command(BaseCommand):
    help = "Remove resumable uploads past their expiry (TUS_EXPIRE_SECONDS) and their bytes."

    def handle(self, *args: Any, **options: Any) -> None:
        count = purge_expired_uploads(now=timezone.now())
        self.stdout.write(f"Removed {count} expired upload(s).")
