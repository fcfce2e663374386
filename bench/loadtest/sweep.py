"""The orphan sweep as beat will run it once ``ORPHAN_GRACE_SECONDS`` have passed, for a
load test's kill run: the objects a killed web process stored without committing their
rows. Run in the stack's environment:

    python -m bench.loadtest.sweep  ->  JSON [removed names]"""

from __future__ import annotations

import json
import os
import sys
from datetime import timedelta


def sweep_after_grace() -> list[str]:
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    django.setup()
    from django.conf import settings
    from django.utils import timezone

    from archives.orphans import remove_orphan_files

    later = timezone.now() + timedelta(seconds=settings.ORPHAN_GRACE_SECONDS + 60)
    return remove_orphan_files(now=later)


if __name__ == "__main__":
    sys.stdout.write(json.dumps(sweep_after_grace()))
