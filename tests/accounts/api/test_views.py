from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from accounts.models import User

if TYPE_CHECKING:
    from rest_framework.test import APIClient

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
