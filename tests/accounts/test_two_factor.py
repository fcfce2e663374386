"""Two-factor sign-in through the pages (allauth.mfa's, on our templates): enrolment of an
authenticator app with codes made by pyotp, the code prompt after the password, recovery
codes that work once, the throttle on wrong codes, tokens dropped on enrolment, and the
other sessions signed out when a second factor is added or removed, or recovery codes
are made anew."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

import pyotp
import pytest
import time_machine
from allauth.mfa.models import Authenticator
from django.core.cache import cache
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from accounts.keys import create_api_key
from accounts.services import issue_token
from accounts.two_factor import has_second_factor
from tests.accounts.support import confirm_password, enrol_totp, recovery_codes, sign_in

if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

    from pytest_django.fixtures import Settings as DjangoSettings

    from accounts.models import User

pytestmark = pytest.mark.django_db


def start_sign_in(user: User, password: str) -> Client:
    """A client that passed the password step: sign-in now waits for the second factor."""
    client = Client()
    response = client.post(reverse("account_login"), {"login": user.username, "password": password})
    assert response.status_code == 302
    assert response["Location"] == reverse("mfa_authenticate")
    return client


def is_signed_in(client: Client) -> bool:
    return client.get(reverse("archives:dashboard")).status_code == 200


def test_the_enrolment_page_shows_the_qr_code_and_the_secret(user: User, password: str) -> None:
    client = sign_in(user, password)
    confirm_password(client, password)

    page = client.get(reverse("mfa_activate_totp"))

    secret = page.context["form"].secret
    html = page.content.decode()
    assert 'src="data:image/svg+xml;base64,' in html
    assert f'value="{secret}"' in html
    assert len(secret) == 32  # 160 bits, base32


def test_a_wrong_code_does_not_turn_the_app_on(user: User, password: str) -> None:
    client = sign_in(user, password)
    confirm_password(client, password)
    secret = client.get(reverse("mfa_activate_totp")).context["form"].secret
    wrong = f"{(int(pyotp.TOTP(secret).now()) + 1) % 10**6:06d}"

    response = client.post(reverse("mfa_activate_totp"), {"code": wrong})

    assert response.status_code == 200
    assert "Incorrect code." in response.content.decode()
    assert not has_second_factor(user)


def test_enrolment_turns_the_app_on_and_shows_recovery_codes(user: User, password: str) -> None:
    client = sign_in(user, password)

    enrol_totp(client, password)

    assert has_second_factor(user)
    codes = recovery_codes(client)
    assert len(codes) == 10
    assert all(len(code) == 8 and code.isdigit() for code in codes)
    index = client.get(reverse("mfa_index")).content.decode()
    assert "10 of 10 codes left." in index


def test_enrolment_first_asks_for_the_password_again(user: User, password: str) -> None:
    client = sign_in(user, password)

    response = client.get(reverse("mfa_activate_totp"))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_reauthenticate"))


def test_sign_in_asks_for_the_code_after_the_password(user: User, password: str) -> None:
    app = enrol_totp(sign_in(user, password), password)
    client = start_sign_in(user, password)
    assert not is_signed_in(client)
    prompt = client.get(reverse("mfa_authenticate"))
    assert "Code of the app, or a recovery code" in prompt.content.decode()

    with time_machine.travel(timezone.now() + timedelta(seconds=30), tick=False):
        response = client.post(reverse("mfa_authenticate"), {"code": app.now()})

        assert response.status_code == 302
        assert is_signed_in(client)


def test_a_wrong_code_at_sign_in_is_refused(user: User, password: str) -> None:
    app = enrol_totp(sign_in(user, password), password)
    client = start_sign_in(user, password)
    wrong = f"{(int(app.now()) + 1) % 10**6:06d}"

    response = client.post(reverse("mfa_authenticate"), {"code": wrong})

    assert response.status_code == 200
    assert "Incorrect code." in response.content.decode()
    assert not is_signed_in(client)


def test_a_code_signs_in_once(user: User, password: str) -> None:
    app = enrol_totp(sign_in(user, password), password)
    with time_machine.travel(timezone.now() + timedelta(seconds=30), tick=False):
        code = app.now()
        first = start_sign_in(user, password)
        first.post(reverse("mfa_authenticate"), {"code": code})
        second = start_sign_in(user, password)
        second.post(reverse("mfa_authenticate"), {"code": code})

        assert is_signed_in(first)
        assert not is_signed_in(second)


def test_a_code_signs_in_once_across_processes(user: User, password: str) -> None:
    app = enrol_totp(sign_in(user, password), password)
    with time_machine.travel(timezone.now() + timedelta(seconds=30), tick=False):
        code = app.now()
        first = start_sign_in(user, password)
        first.post(reverse("mfa_authenticate"), {"code": code})
        # Another web process: allauth's mark of the used code is in this one's cache only.
        cache.clear()
        second = start_sign_in(user, password)
        refused = second.post(reverse("mfa_authenticate"), {"code": f" {code[:3]}-{code[3:]}"})

        assert is_signed_in(first)
        assert "Incorrect code." in refused.content.decode()
        assert not is_signed_in(second)


def test_a_recovery_code_signs_in_once(user: User, password: str) -> None:
    client = sign_in(user, password)
    enrol_totp(client, password)
    code = recovery_codes(client)[3]

    first = start_sign_in(user, password)
    first.post(reverse("mfa_authenticate"), {"code": code})
    second = start_sign_in(user, password)
    refused = second.post(reverse("mfa_authenticate"), {"code": code})

    assert is_signed_in(first)
    assert not is_signed_in(second)
    assert "Incorrect code." in refused.content.decode()
    left = recovery_codes(client)
    assert code not in left
    assert len(left) == 9


def test_wrong_codes_are_throttled_like_passwords(
    user: User, password: str, settings: DjangoSettings
) -> None:
    settings.LOGIN_ATTEMPTS_PER_USER = 3
    app = enrol_totp(sign_in(user, password), password)
    client = start_sign_in(user, password)
    for _ in range(3):
        wrong = client.post(reverse("mfa_authenticate"), {"code": "000000"})
        assert "Incorrect code." in wrong.content.decode()

    with time_machine.travel(timezone.now() + timedelta(seconds=30), tick=False):
        refused = client.post(reverse("mfa_authenticate"), {"code": app.now()})

        assert "Too many failed logins. Try again in 15 minutes." in refused.content.decode()
        assert not is_signed_in(client)


def test_adding_a_second_factor_drops_the_account_token(
    user: User, password: str, django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    issue_token(user)
    client = sign_in(user, password)

    # allauth announces the new authenticator once its transaction commits.
    with django_capture_on_commit_callbacks(execute=True):
        enrol_totp(client, password)

    assert not Token.objects.filter(user=user).exists()


def test_a_user_without_a_password_enrols_without_confirming_it(user: User) -> None:
    # As one signed in by an identity provider: nothing to confirm it is them again with.
    user.set_unusable_password()
    user.save()
    client = Client()
    client.force_login(user)

    page = client.get(reverse("mfa_activate_totp"))
    code = pyotp.TOTP(page.context["form"].secret).now()
    response = client.post(reverse("mfa_activate_totp"), {"code": code})

    assert response.status_code == 302
    assert has_second_factor(user)


def test_turning_the_app_off_leaves_no_second_factor(user: User, password: str) -> None:
    client = sign_in(user, password)
    enrol_totp(client, password)

    response = client.post(reverse("mfa_deactivate_totp"))

    assert response.status_code == 302
    assert not has_second_factor(user)
    # The recovery codes go with it: they were a way around the app only.
    assert not Authenticator.objects.filter(user=user).exists()


# allauth announces a new authenticator app once its transaction commits, within the
# request: the test's own transaction would put that off past the request's end.
@pytest.mark.django_db(transaction=True)
def test_adding_a_second_factor_signs_out_the_other_sessions_only(
    user: User, password: str
) -> None:
    other = sign_in(user, password)
    client = sign_in(user, password)

    app = enrol_totp(client, password)

    assert is_signed_in(client)
    assert not is_signed_in(other)
    # A sign-in after it is as good as ever (with the code now).
    again = start_sign_in(user, password)
    with time_machine.travel(timezone.now() + timedelta(seconds=30), tick=False):
        again.post(reverse("mfa_authenticate"), {"code": app.now()})
        assert is_signed_in(again)


def test_removing_the_second_factor_signs_out_the_other_sessions_only(
    user: User, password: str
) -> None:
    client = sign_in(user, password)
    enrol_totp(client, password)
    other = start_sign_in(user, password)
    other.post(reverse("mfa_authenticate"), {"code": recovery_codes(client)[0]})
    assert is_signed_in(other)

    response = client.post(reverse("mfa_deactivate_totp"))

    assert response.status_code == 302
    assert is_signed_in(client)
    assert not is_signed_in(other)
    assert is_signed_in(sign_in(user, password))


# allauth announces new recovery codes once its transaction commits, as for a new app.
@pytest.mark.django_db(transaction=True)
def test_new_recovery_codes_sign_out_the_session_begun_with_an_old_one(
    user: User, password: str
) -> None:
    client = sign_in(user, password)
    enrol_totp(client, password)
    old = recovery_codes(client)
    other = start_sign_in(user, password)
    other.post(reverse("mfa_authenticate"), {"code": old[0]})
    assert is_signed_in(other)

    response = client.post(reverse("mfa_generate_recovery_codes"))

    assert response.status_code == 302
    assert is_signed_in(client)
    assert not is_signed_in(other)
    assert set(recovery_codes(client)).isdisjoint(old)


@pytest.mark.django_db(transaction=True)
def test_api_keys_outlive_a_change_of_second_factor(user: User, password: str) -> None:
    issued = create_api_key(
        user, name="backup", scopes=["archives:read"], expires_at=None, now=timezone.now()
    )
    client = sign_in(user, password)

    enrol_totp(client, password)
    client.post(reverse("mfa_deactivate_totp"))

    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {issued.key}")
    assert api.get("/api/archives/").status_code == 200
