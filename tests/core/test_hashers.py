"""Passwords are stored with Argon2id; those stored with PBKDF2 before still sign in and
are stored again with Argon2id; a process hashes at most a few passwords at once."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

import pytest
from django.contrib.auth.hashers import make_password

from accounts.models import User
from core.hashers import CONCURRENT_HASHES, Argon2idHasher
from tests.factories import UserFactory

if TYPE_CHECKING:
    from pytest_django.fixtures import Settings as DjangoSettings
    from rest_framework.test import APIClient

ARGON2ID = "argon2$argon2id$v=19$m=19456,t=2,p=1$"


@pytest.fixture
def production_hashers(settings: DjangoSettings) -> None:
    """The hashers of production: the suite's own list starts with a fast one."""
    assert settings.PASSWORD_HASHERS[0].endswith(".MD5PasswordHasher")
    settings.PASSWORD_HASHERS = settings.PASSWORD_HASHERS[1:]


@pytest.mark.django_db
@pytest.mark.usefixtures("production_hashers")
def test_a_new_password_is_stored_with_argon2id(anon: APIClient) -> None:
    response = anon.post(
        "/api/auth/register/", {"username": "alice", "password": "violet tangerine 42"}
    )

    assert response.status_code == 201
    user = User.objects.get(username="alice")
    assert user.password.startswith(ARGON2ID)
    assert user.check_password("violet tangerine 42")
    assert not user.check_password("violet tangerine 43")


@pytest.mark.django_db
@pytest.mark.usefixtures("production_hashers")
def test_a_password_stored_with_pbkdf2_signs_in_and_is_stored_again_with_argon2id(
    anon: APIClient,
) -> None:
    user = UserFactory(username="bob")
    user.password = make_password("old enough password", hasher="pbkdf2_sha256")
    user.save(update_fields=["password"])

    wrong = anon.post("/api/auth/token/", {"username": "bob", "password": "not it at all"})
    user.refresh_from_db()
    assert wrong.status_code == 401
    assert user.password.startswith("pbkdf2_sha256$")

    right = anon.post("/api/auth/token/", {"username": "bob", "password": "old enough password"})
    user.refresh_from_db()
    assert right.status_code == 200
    assert user.password.startswith(ARGON2ID)
    assert user.check_password("old enough password")


def test_a_process_hashes_at_most_a_few_passwords_at_once() -> None:
    hasher = Argon2idHasher()
    taken = [Argon2idHasher.slots.acquire(blocking=False) for _ in range(CONCURRENT_HASHES)]
    assert all(taken)
    hashed = threading.Event()

    def hash_one() -> None:
        hasher.encode("a password", hasher.salt())
        hashed.set()

    thread = threading.Thread(target=hash_one)
    try:
        thread.start()
        assert not hashed.wait(0.5), "a hash ran while every slot was taken"
    finally:
        for _ in taken:
            Argon2idHasher.slots.release()
    thread.join(timeout=30)
    assert hashed.is_set()
