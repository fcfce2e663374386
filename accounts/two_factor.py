"""Second factors (TOTP with recovery codes, and passkeys, kept by allauth.mfa): who has
one, the throttle on codes, whether the site requires one, and what enrolling changes.

The pages (enrolment, the code prompt at sign-in) are allauth.mfa's; the token endpoint
and the sign-in prompt check a code with the same form (``accounts.forms.SecondFactorForm``),
so both count wrong codes here."""

from __future__ import annotations

import string
from typing import TYPE_CHECKING, Any

from allauth.mfa import app_settings as mfa_settings
from allauth.mfa.adapter import get_adapter
from allauth.mfa.models import Authenticator
from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from rest_framework.authtoken.models import Token

from accounts.services import end_other_sessions
from core.throttle import forget_failures, release_attempt, reserve_attempt, reserve_attempts

if TYPE_CHECKING:
    from datetime import datetime

    from django.contrib.auth.base_user import AbstractBaseUser
    from django.http import HttpRequest

    from accounts.models import User


class CodeThrottled(Exception):
    """Too many wrong codes for this user."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"Too many wrong codes: try again in {retry_after} seconds.")
        self.retry_after = retry_after


def has_second_factor(user: AbstractBaseUser) -> bool:
    """Whether ``user`` signs in with a second factor (an authenticator app or a passkey)."""
    return get_adapter().is_mfa_enabled(
        user, types=[Authenticator.Type.TOTP, Authenticator.Type.WEBAUTHN]
    )


def must_enrol(user: AbstractBaseUser | AnonymousUser) -> bool:
    """Whether ``user`` may do nothing but add a second factor (``REQUIRE_TWO_FACTOR``)."""
    if isinstance(user, AnonymousUser) or not settings.REQUIRE_TWO_FACTOR:
        return False
    return not has_second_factor(user)


def _code_checks(user: AbstractBaseUser, client: str) -> list[tuple[str, str, int, int]]:
    return [
        (
            "mfa-user-ip",
            f"{client} {user.pk}",
            settings.LOGIN_ATTEMPTS_PER_USER,
            settings.LOGIN_ATTEMPTS_WINDOW,
        ),
        (
            "mfa-user",
            str(user.pk),
            settings.LOGIN_ATTEMPTS_PER_ACCOUNT,
            settings.LOGIN_ACCOUNT_WINDOW,
        ),
    ]


def reserve_code_attempt(user: AbstractBaseUser, *, client: str, now: datetime) -> None:
    """Count one code of ``user`` from ``client`` before it is checked, with the limits of
    password guesses (``accounts.services.authenticate_user``): ``LOGIN_ATTEMPTS_PER_USER``
    from one address in ``LOGIN_ATTEMPTS_WINDOW``, ``LOGIN_ATTEMPTS_PER_ACCOUNT`` from
    anywhere in ``LOGIN_ACCOUNT_WINDOW``. Raises ``CodeThrottled`` past either, having
    taken nothing; ``forget_code_failures`` gives the attempt back once the code is right."""
    blocked = reserve_attempts(_code_checks(user, client), now=now)
    if blocked is not None:
        raise CodeThrottled(blocked)


def forget_code_failures(user: AbstractBaseUser, *, client: str) -> None:
    """A right code: clear this address's count and give back the account's attempt (its
    count from elsewhere stays, as for passwords)."""
    (local_scope, local_key, *_), (account_scope, account_key, *_) = _code_checks(user, client)
    forget_failures(local_scope, local_key)
    release_attempt(account_scope, account_key)


# What allauth ignores in a typed code (RFC 8628 section 6.1: punctuation and spaces).
CODE_NOISE = str.maketrans("", "", string.punctuation + string.whitespace)


def claim_code(user: AbstractBaseUser, code: str, *, now: datetime) -> bool:
    """Whether ``code``, just accepted for ``user``, is used for the first time while it is
    valid; a second use is refused. allauth marks a used code in Django's cache, which
    each web process keeps for itself; this mark is in the database, so it holds across
    processes and hosts (one row, kept single by its unique constraint)."""
    valid_for = mfa_settings.TOTP_PERIOD * (2 * mfa_settings.TOTP_TOLERANCE + 1)
    key = f"{user.pk} {code.translate(CODE_NOISE).lower()}"
    return reserve_attempt("mfa-code-used", key, limit=1, window=valid_for, now=now) is None


def revoke_tokens(user: User) -> int:
    """Delete the account token of ``user``: one obtained with the password alone must not
    outlive the second factor added after it. Returns how many were deleted."""
    deleted, _ = Token.objects.filter(user=user).delete()
    return deleted


def revoke_tokens_on_enrolment(*, user: User, **kwargs: Any) -> None:
    """Receiver of allauth.mfa's ``authenticator_added``."""
    revoke_tokens(user)


def end_other_sessions_on_change(*, request: HttpRequest, user: User, **kwargs: Any) -> None:
    """Receiver of allauth.mfa's ``authenticator_added``, ``authenticator_removed`` and
    ``authenticator_reset`` (recovery codes made anew): the sessions begun under the former
    second factors end, but the one that made the change."""
    end_other_sessions(request, user=user)
