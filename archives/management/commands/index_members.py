from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand
from django.utils import timezone

from archives.services import queue_all_member_indexes


class Command(BaseCommand):
    help = (
        "Queue, for every stored archive built before its files' places and previews were "
        "recorded, the task that reads them from its ZIP (a worker runs it)."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        count = queue_all_member_indexes(now=timezone.now())
        self.stdout.write(f"Queued the reading of the members of {count} archive(s).")
