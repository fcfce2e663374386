"""Accounts: registration, API tokens, sign-in and sessions."""

from __future__ import annotations

from typing import TYPE_CHECKING

from allauth.account.models import EmailAddress
from django.conf import settings
from django.contrib.auth import authenticate, update_session_auth_hash
from django.contrib.auth.password_validation import validate_password
from django.db import IntegrityError, transaction
from django.db.models import F
from rest_framework.authtoken.models import Token

from accounts.models import User, canonical_username
from core.throttle import forget_failures, release_attempt, reserve_attempt, reserve_attempts

if TYPE_CHECKING:
    from datetime import datetime

    from django.http import HttpRequest


class UsernameTaken(Exception):
    """Someone registered that username first."""


class PasswordLoginOff(Exception):
    """Passwords neither sign in nor register here (``PASSWORD_LOGIN`` is false)."""


def register_user(*, username: str, password: str, email: str = "") -> User:
    """Create a user, named in the canonical form (``canonical_username``), after
    Django's password validators agree. A given ``email`` is kept as the user's
    primary address, unverified (so nothing is ever matched or linked by it).

    Raises ``ValidationError`` listing what is wrong with the password,
    ``UsernameTaken`` when the name is in use (also when a parallel request took it) and
    ``PasswordLoginOff`` when ``PASSWORD_LOGIN`` is false.
    """
    if not settings.PASSWORD_LOGIN:
        raise PasswordLoginOff
    # Lower-case, as allauth keeps every address.
    email = email.lower()
    candidate = User(username=canonical_username(username), email=email)
    validate_password(password, user=candidate)
    # Compared in the canonical form, exactly: the unique constraint on it also settles
    # a parallel registration.
    if User.objects.filter(username=candidate.username).exists():
        raise UsernameTaken(username)
    candidate.set_password(password)
    try:
        with transaction.atomic():
            candidate.save()
            if email:
                EmailAddress.objects.create(
                    user=candidate, email=email, primary=True, verified=False
                )
    except IntegrityError as exc:
        raise UsernameTaken(username) from exc
    return candidate


def issue_token(user: User) -> str:
    """Return the user's API token, creating it on first use."""
    token, _ = Token.objects.get_or_create(user=user)
    return token.key


class LoginThrottled(Exception):
    """Too many failed logins for this username or from this address."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"Too many failed logins: try again in {retry_after} seconds.")
        self.retry_after = retry_after


def authenticate_user(
    request: HttpRequest | None, *, username: str, password: str, client: str, now: datetime
) -> User | None:
    """The user with these credentials, or None; raises ``LoginThrottled`` after too many
    failures, also for the right password, so guessing cannot go on in the background:
    for the username from this address (``LOGIN_ATTEMPTS_PER_USER``) or from this address
    over every name (``LOGIN_ATTEMPTS_PER_IP``) within ``LOGIN_ATTEMPTS_WINDOW`` seconds,
    or for the username from every address (``LOGIN_ATTEMPTS_PER_ACCOUNT`` within
    ``LOGIN_ACCOUNT_WINDOW``).

    The lock is keyed on username and address together, as django-axes's combination
    mode: failures from elsewhere do not lock the owner out until the slower account
    limit. The attempt is reserved in every count before the password is checked, so
    however many arrive in parallel, at most the limit are checked per window.

    Raises ``PasswordLoginOff`` when ``PASSWORD_LOGIN`` is false, before counting."""
    if not settings.PASSWORD_LOGIN:
        raise PasswordLoginOff
    name = canonical_username(username)
    window = settings.LOGIN_ATTEMPTS_WINDOW
    checks = [
        ("login-user-ip", f"{client} {name}", settings.LOGIN_ATTEMPTS_PER_USER, window),
        ("login-ip", client, settings.LOGIN_ATTEMPTS_PER_IP, window),
        ("login-user", name, settings.LOGIN_ATTEMPTS_PER_ACCOUNT, settings.LOGIN_ACCOUNT_WINDOW),
    ]
    blocked = reserve_attempts(checks, now=now)
    if blocked is not None:
        raise LoginThrottled(blocked)
    user = authenticate(request, username=name, password=password)
    if isinstance(user, User):
        # The owner's success clears their own address only: the account's count from
        # elsewhere stays, or each of their logins would reopen the guessing.
        forget_failures("login-user-ip", f"{client} {name}")
        release_attempt("login-ip", client)
        release_attempt("login-user", name)
        return user
    return None


def start_provider_sign_in(*, client: str, now: datetime) -> None:
    """Count a sign-in with an identity provider begun from ``client``; raises
    ``LoginThrottled`` when more than ``LOGIN_ATTEMPTS_PER_IP`` of them, unfinished, began
    from there within ``LOGIN_ATTEMPTS_WINDOW`` (each costs a session state here and a
    request to the provider later). ``finish_provider_sign_in`` gives one back."""
    blocked = reserve_attempt(
        "provider-sign-in",
        client,
        limit=settings.LOGIN_ATTEMPTS_PER_IP,
        window=settings.LOGIN_ATTEMPTS_WINDOW,
        now=now,
    )
    if blocked is not None:
        raise LoginThrottled(blocked)


def finish_provider_sign_in(*, client: str) -> None:
    """A sign-in begun from ``client`` came back accepted: it no longer counts."""
    release_attempt("provider-sign-in", client)


def deactivate_user(user: User) -> bool:
    """Stop ``user``: no sign-in, their sessions, token and API keys refused, and their
    shares answer as expired (``sharing.downloads.check_download``). Their data stays,
    and setting ``is_active`` again undoes it. Returns whether the user was active."""
    changed = User.objects.filter(pk=user.pk, is_active=True).update(is_active=False)
    user.is_active = False
    return bool(changed)


def end_other_sessions(request: HttpRequest, *, user: User) -> None:
    """Sign ``user`` out of every session but the one of ``request``, which stays signed in
    (as Django keeps it after a password change): their session generation is raised, so
    the hash the other sessions keep no longer matches (``User.get_session_auth_hash``).
    The account token and API keys are not sessions: they are left as they are."""
    User.objects.filter(pk=user.pk).update(session_generation=F("session_generation") + 1)
    user.refresh_from_db(fields=["session_generation"])
    update_session_auth_hash(request, user)
