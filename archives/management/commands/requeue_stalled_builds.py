from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.management.base import BaseCommand
from django.utils import timezone

from archives.services import requeue_stalled_builds

if TYPE_CHECKING:
    from argparse import ArgumentParser


class Command(BaseCommand):
    help = (
        "Queue again the builds lost with their worker or their message (what beat does "
        "every minute), e.g. after the broker came back."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument(
            "--stalled-after",
            type=int,
            default=settings.BUILD_STALL_SECONDS,
            help="Seconds without a sign of life after which a build counts as lost.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        # The reaper treats builds silent for BUILD_STALL_SECONDS as lost; shifting "now"
        # forward applies a shorter wait without a second code path.
        shift = settings.BUILD_STALL_SECONDS - options["stalled_after"]
        count = requeue_stalled_builds(now=timezone.now() + timedelta(seconds=shift))
        self.stdout.write(f"Queued {count} build(s) again.")
