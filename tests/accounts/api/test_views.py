from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

import pytest
import time_machine
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from accounts.keys import create_api_key
from accounts.models import ApiKey, User
from accounts.services import issue_token
from tests.accounts.support import enrol_totp, recovery_codes, sign_in

if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

    import pyotp
    from pytest_django.fixtures import Settings as DjangoSettings
    from rest_framework.test import _MonkeyPatchedResponse as TestResponse

pytestmark = pytest.mark.django_db


def test_register_creates_user_with_hashed_password(anon: APIClient) -> None:
    response = anon.post(
        "/api/auth/register/", {"username": "alice", "password": "violet tangerine 42"}
    )

    assert response.status_code == 201
    body = response.json()
    assert body["username"] == "alice"
    assert len(body["id"]) >= 22  # 128 random bits, not a sequence number
    user = User.objects.get(username="alice")
    assert user.check_password("violet tangerine 42")
    assert "violet" not in user.password


def test_register_refuses_weak_password_with_reasons(anon: APIClient) -> None:
    response = anon.post("/api/auth/register/", {"username": "bob", "password": "12345"})

    assert response.status_code == 400
    reasons = " ".join(response.json()["password"])
    assert "too short" in reasons
    assert "entirely numeric" in reasons
    assert not User.objects.filter(username="bob").exists()


def test_register_refuses_taken_username(anon: APIClient, user: User) -> None:
    response = anon.post(
        "/api/auth/register/",
        {"username": user.username.upper(), "password": "violet tangerine 42"},
    )

    assert response.status_code == 400
    assert response.json()["username"] == ["This username is taken."]


def test_token_for_right_password(anon: APIClient, user: User, password: str) -> None:
    response = anon.post("/api/auth/token/", {"username": user.username, "password": password})

    assert response.status_code == 200
    token = response.json()["token"]
    anon.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert anon.get("/api/archives/").status_code == 200


def test_token_refused_for_wrong_password(anon: APIClient, user: User) -> None:
    response = anon.post("/api/auth/token/", {"username": user.username, "password": "nope"})

    assert response.status_code == 401
    assert response.json() == {"detail": "Wrong username or password."}


def test_api_without_credentials_is_401(anon: APIClient) -> None:
    response = anon.get("/api/archives/")

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"


def test_invalid_token_is_401(anon: APIClient) -> None:
    anon.credentials(HTTP_AUTHORIZATION="Token 0123456789abcdef")

    assert anon.get("/api/archives/").status_code == 401


def test_session_login_works_on_the_api(anon: APIClient, user: User, password: str) -> None:
    assert anon.login(username=user.username, password=password)

    assert anon.get("/api/archives/").status_code == 200


def test_session_login_and_logout_pages(user: User, password: str) -> None:
    from django.test import Client

    client = Client()
    response = client.post("/accounts/login/", {"login": user.username, "password": password})
    assert response.status_code == 302
    assert client.get("/api/archives/").status_code == 200

    client.post("/accounts/logout/")

    assert client.get("/api/archives/").status_code in {401, 403}


def test_a_wide_name_registers_as_its_canonical_form_and_gets_a_token(anon: APIClient) -> None:
    credentials = {"username": "\uff45\uff56\uff45", "password": "violet tangerine 42"}
    registered = anon.post("/api/auth/register/", credentials)

    assert registered.status_code == 201
    assert registered.json()["username"] == "eve"
    assert anon.post("/api/auth/token/", credentials).status_code == 200
    assert (
        anon.post(
            "/api/auth/token/", {"username": "Eve", "password": "violet tangerine 42"}
        ).status_code
        == 200
    )
    beside = anon.post(
        "/api/auth/register/", {"username": "\uff25\uff36\uff25", "password": "x y z 123 abc"}
    )
    assert beside.status_code == 400
    assert "username" in beside.json()


@pytest.mark.parametrize("password", [12345678901, 1.5, True, ["violet tangerine 42"]])
def test_a_password_that_is_not_text_is_refused(anon: APIClient, password: object) -> None:
    response = anon.post("/api/auth/register/", {"username": "carol", "password": password})

    assert response.status_code == 400
    assert response.json()["password"] == ["Must be a string."]
    assert not User.objects.filter(username="carol").exists()


def test_the_username_limit_is_that_of_its_stored_form(anon: APIClient) -> None:
    # U+FB03 is one character whose NFKC form is three: "ffi".
    too_long = anon.post(
        "/api/auth/register/", {"username": "\ufb03" * 51, "password": "violet tangerine 42"}
    )
    fits = anon.post(
        "/api/auth/register/", {"username": "\ufb03" * 50, "password": "violet tangerine 42"}
    )

    assert too_long.status_code == 400
    assert "150" in too_long.json()["username"][0]
    assert fits.status_code == 201
    assert fits.json()["username"] == "ffi" * 50


def test_credentials_are_json_only(anon: APIClient, user: User, password: str) -> None:
    response = anon.post(
        "/api/auth/token/", {"username": user.username, "password": password}, format="multipart"
    )

    assert response.status_code == 415


# With a second factor: POST /api/auth/token/ needs `otp` as well.


@pytest.fixture
def totp(user: User, password: str) -> pyotp.TOTP:
    """``user`` with an authenticator app, enrolled on the pages."""
    return enrol_totp(sign_in(user, password), password)


def ask_token(client: APIClient, user: User, password: str, **extra: str) -> TestResponse:
    body = {"username": user.username, "password": password, **extra}
    return client.post("/api/auth/token/", body)


def test_a_token_needs_the_code_when_the_account_has_two_factor(
    anon: APIClient, user: User, password: str, totp: pyotp.TOTP
) -> None:
    response = ask_token(anon, user, password)

    assert response.status_code == 401
    assert response.json() == {
        "detail": "This account has two-factor authentication: send a current code of its "
        "authenticator app, or one of its recovery codes, as otp."
    }
    assert not Token.objects.filter(user=user).exists()


def test_a_token_for_the_right_code(
    anon: APIClient, user: User, password: str, totp: pyotp.TOTP
) -> None:
    with time_machine.travel(timezone.now() + timedelta(seconds=30), tick=False):
        response = ask_token(anon, user, password, otp=totp.now())

    assert response.status_code == 200
    anon.credentials(HTTP_AUTHORIZATION=f"Token {response.json()['token']}")
    assert anon.get("/api/archives/").status_code == 200


def test_a_wrong_or_replayed_code_gets_no_token(
    anon: APIClient, user: User, password: str, totp: pyotp.TOTP
) -> None:
    with time_machine.travel(timezone.now() + timedelta(seconds=30), tick=False):
        code = totp.now()
        wrong = f"{(int(code) + 1) % 10**6:06d}"
        refused = ask_token(anon, user, password, otp=wrong)
        first = ask_token(anon, user, password, otp=code)
        replayed = ask_token(anon, user, password, otp=code)

    assert refused.status_code == 401
    assert refused.json() == {"detail": "Wrong or used code."}
    assert first.status_code == 200
    assert replayed.status_code == 401
    assert replayed.json() == {"detail": "Wrong or used code."}


def test_a_recovery_code_gets_a_token_once(anon: APIClient, user: User, password: str) -> None:
    client = sign_in(user, password)
    enrol_totp(client, password)
    code = recovery_codes(client)[0]

    first = ask_token(anon, user, password, otp=code)
    again = ask_token(anon, user, password, otp=code)

    assert first.status_code == 200
    assert again.status_code == 401
    assert code not in recovery_codes(client)


def test_wrong_codes_are_throttled_like_passwords(
    anon: APIClient, user: User, password: str, totp: pyotp.TOTP, settings: DjangoSettings
) -> None:
    settings.LOGIN_ATTEMPTS_PER_USER = 3
    for _ in range(3):
        assert ask_token(anon, user, password, otp="000000").status_code == 401

    with time_machine.travel(timezone.now() + timedelta(seconds=30), tick=False):
        refused = ask_token(anon, user, password, otp=totp.now())

    assert refused.status_code == 429
    assert refused.json()["detail"].startswith("Too many wrong codes.")
    assert int(refused["Retry-After"]) > 800
    # The password was right each time: only the codes count.
    assert ask_token(anon, user, "wrong password").status_code == 401


def test_otp_is_checked_for_shape(anon: APIClient, user: User, password: str) -> None:
    response = ask_token(anon, user, password, otp="1" * 65)

    assert response.status_code == 400
    assert "otp" in response.json()


def test_a_token_from_before_enrolment_cannot_make_api_keys(
    user: User, password: str, django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    old = APIClient()
    old.credentials(HTTP_AUTHORIZATION=f"Token {issue_token(user)}")
    client = sign_in(user, password)
    with django_capture_on_commit_callbacks(execute=True):
        app = enrol_totp(client, password)
    password_only = APIClient()
    body = {"name": "script", "scopes": ["archives:read"]}

    assert old.post("/api/keys/", body).status_code == 401
    assert ask_token(password_only, user, password).status_code == 401
    assert password_only.post("/api/keys/", body).status_code == 401
    assert not ApiKey.objects.exists()
    with time_machine.travel(timezone.now() + timedelta(seconds=30), tick=False):
        token = ask_token(password_only, user, password, otp=app.now()).json()["token"]
    password_only.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert password_only.post("/api/keys/", body).status_code == 201


def test_a_token_needs_a_second_factor_when_the_site_requires_one(
    anon: APIClient, user: User, password: str, settings: DjangoSettings
) -> None:
    settings.REQUIRE_TWO_FACTOR = True

    response = ask_token(anon, user, password)

    assert response.status_code == 403
    assert response.json() == {
        "detail": "This site requires two-factor authentication: sign in on the web and add "
        "an authenticator app or a passkey first."
    }


def test_a_token_with_the_code_when_the_site_requires_two_factor(
    anon: APIClient, user: User, password: str, totp: pyotp.TOTP, settings: DjangoSettings
) -> None:
    settings.REQUIRE_TWO_FACTOR = True

    with time_machine.travel(timezone.now() + timedelta(seconds=30), tick=False):
        response = ask_token(anon, user, password, otp=totp.now())

    assert response.status_code == 200


def test_the_api_refuses_a_user_without_two_factor_when_the_site_requires_it(
    api: APIClient, settings: DjangoSettings
) -> None:
    assert api.get("/api/archives/").status_code == 200
    settings.REQUIRE_TWO_FACTOR = True

    response = api.get("/api/archives/")

    assert response.status_code == 403
    assert response.json()["detail"].startswith("This site requires two-factor authentication")


def test_with_password_login_off_no_token_and_no_registration_but_keys_work(
    anon: APIClient, user: User, password: str, settings: DjangoSettings
) -> None:
    settings.PASSWORD_LOGIN = False
    issued = create_api_key(
        user, name="ci", scopes=["archives:read"], expires_at=None, now=timezone.now()
    )

    token = anon.post("/api/auth/token/", {"username": user.username, "password": password})
    registered = anon.post("/api/auth/register/", {"username": "zed", "password": password})
    with_key = APIClient(HTTP_AUTHORIZATION=f"Bearer {issued.key}").get("/api/archives/")

    assert token.status_code == 403
    assert "use an API key" in token.json()["detail"]
    assert registered.status_code == 403
    assert "Registration with a password is turned off" in registered.json()["detail"]
    assert not User.objects.filter(username="zed").exists()
    assert with_key.status_code == 200
