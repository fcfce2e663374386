"""API keys: issuing, revoking, and finding the key a request sends.

A key is ``adk_`` and 144 random bits (``core.tokens.new_token``); only its sha256 is
stored, so a leaked database gives no key, and the key is shown once, when it is made.
"""

from __future__ import annotations

import hashlib
from datetime import timedelta
from typing import TYPE_CHECKING, NamedTuple

from django.conf import settings
from django.db.models import Q

from accounts.models import ApiKey, User
from core.throttle import reserve_attempt, seconds_blocked
from core.tokens import new_token

if TYPE_CHECKING:
    from collections.abc import Iterable
    from datetime import datetime

KEY_PREFIX = "adk_"
# Characters of the key shown in lists: "adk_" and four of the random part.
VISIBLE_CHARS = 8
# last_used_at is written at most this often per key.
LAST_USE_PRECISION = timedelta(minutes=1)
THROTTLE_SCOPE = "api-key-ip"


class IssuedKey(NamedTuple):
    api_key: ApiKey
    key: str


class KeyRefused(Exception):
    """The key sent is unknown, revoked, expired, or its owner is deactivated."""


class KeyThrottled(Exception):
    """Too many wrong keys from this address."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"Too many wrong API keys: try again in {retry_after} seconds.")
        self.retry_after = retry_after


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def create_api_key(
    user: User, *, name: str, scopes: Iterable[str], expires_at: datetime | None, now: datetime
) -> IssuedKey:
    """A new key of ``user``; the key itself is in the result and nowhere else."""
    key = KEY_PREFIX + new_token()
    api_key = ApiKey.objects.create(
        user=user,
        name=name,
        scopes=sorted(set(scopes)),
        prefix=key[:VISIBLE_CHARS],
        key_hash=hash_key(key),
        created_at=now,
        expires_at=expires_at,
    )
    return IssuedKey(api_key, key)


def revoke_api_key(api_key: ApiKey, *, now: datetime) -> None:
    """Stop ``api_key`` working from now on (a second revocation keeps the first time)."""
    ApiKey.objects.filter(pk=api_key.pk, revoked_at__isnull=True).update(revoked_at=now)


def keys_of(user: User) -> list[ApiKey]:
    """``user``'s keys that were not revoked, newest first."""
    return list(ApiKey.objects.filter(user=user, revoked_at__isnull=True))


def get_owned_key(user: User, key_id: str) -> ApiKey | None:
    return ApiKey.objects.filter(user=user, pk=key_id, revoked_at__isnull=True).first()


def authenticate_key(key: str, *, client: str, now: datetime) -> ApiKey:
    """The live key ``key`` of an active user, its last use recorded; raises
    ``KeyRefused`` for anything else, and ``KeyThrottled`` once ``client`` sent
    ``LOGIN_ATTEMPTS_PER_IP`` wrong keys within ``LOGIN_ATTEMPTS_WINDOW`` seconds
    (also for a right key, so guessing cannot go on in the background).

    A right key costs one read of the throttle, not a reservation: a key has 144 random
    bits, so the few guesses parallel requests could slip past the limit change nothing,
    and every request authenticated by a key stays free of writes (but the last use).
    """
    limit, window = settings.LOGIN_ATTEMPTS_PER_IP, settings.LOGIN_ATTEMPTS_WINDOW
    blocked = seconds_blocked(THROTTLE_SCOPE, client, limit=limit, window=window, now=now)
    if blocked is not None:
        raise KeyThrottled(blocked)
    api_key = (
        ApiKey.objects.select_related("user")
        .filter(key_hash=hash_key(key), user__is_active=True)
        .first()
        if key.startswith(KEY_PREFIX)
        else None
    )
    if api_key is None or not api_key.is_live(now=now):
        blocked = reserve_attempt(THROTTLE_SCOPE, client, limit=limit, window=window, now=now)
        if blocked is not None:
            raise KeyThrottled(blocked)
        raise KeyRefused
    record_use(api_key, now=now)
    return api_key


def record_use(api_key: ApiKey, *, now: datetime) -> None:
    """Set the key's last use to ``now``, at most once per ``LAST_USE_PRECISION``."""
    last = api_key.last_used_at
    if last is not None and now - last < LAST_USE_PRECISION:
        return
    stale = Q(last_used_at__isnull=True) | Q(last_used_at__lte=now - LAST_USE_PRECISION)
    ApiKey.objects.filter(stale, pk=api_key.pk).update(last_used_at=now)
    api_key.last_used_at = now
