"""Accounts made before a load test's timed window, each with an API key, for the users
who do not sign up during it (``LOADTEST_SIGNUPS``). Run in the stack's environment:

    python -m bench.loadtest.accounts COUNT PREFIX  ->  JSON [[username, key], ...]

These accounts have no password (each sign-up hashes one twice, with Argon2id: about
20 ms of CPU each time), and their keys are checked with one SHA-256."""

from __future__ import annotations

import json
import os
import sys


def make_accounts(count: int, prefix: str) -> list[tuple[str, str]]:
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    django.setup()
    from django.utils import timezone

    from accounts.keys import create_api_key
    from accounts.models import User
    from accounts.scopes import Scope

    made = []
    for number in range(count):
        user = User.objects.create_user(f"{prefix}-{number}", password=None)
        scopes = [Scope.ARCHIVES_READ, Scope.ARCHIVES_WRITE]
        issued = create_api_key(
            user, name="load test", scopes=scopes, expires_at=None, now=timezone.now()
        )
        made.append((user.get_username(), issued.key))
    return made


if __name__ == "__main__":
    sys.stdout.write(json.dumps(make_accounts(int(sys.argv[1]), sys.argv[2])))
