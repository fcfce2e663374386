from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand
from django.utils import timezone

from archives.services import purge_expired


class Command(BaseCommand):
    help = "Remove the files of expired and used-up archives; their rows stay for statistics."

    def handle(self, *args: Any, **options: Any) -> None:
        count = purge_expired(now=timezone.now())
        self.stdout.write(f"Purged {count} archive(s).")
