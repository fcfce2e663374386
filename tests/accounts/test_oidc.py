"""Sign-in with an OpenID Connect provider, against a real one (node's oidc-provider, see
tests/accounts/oidc_provider.mjs): this site's side through Django's test client, the
provider's through HTTP, as a browser would go between them."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urljoin, urlsplit

import pytest
import requests
import time_machine
from allauth.account.models import EmailAddress
from allauth.socialaccount.models import SocialAccount
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from accounts.oidc import DISCOVERY_CACHE_SECONDS, form_action_sources, username_candidates
from tests.accounts.oidc_support import (
    ACCOUNT_PASSWORD,
    LABEL,
    PROVIDER_ID,
    IdentityProvider,
    account,
    identity_provider,
    use_provider,
)

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from django.test import Client
    from django.test.client import _MonkeyPatchedWSGIResponse as TestResponse
    from pytest_django.fixtures import Settings as DjangoSettings

pytestmark = pytest.mark.django_db

SITE = "http://testserver"
SIGN_IN = f"/accounts/oidc/{PROVIDER_ID}/login/"
CAROL = account("carol", email="carol@example.org")


@pytest.fixture
def provider(tmp_path: Path, settings: DjangoSettings) -> Iterator[IdentityProvider]:
    with identity_provider(tmp_path, site=SITE, accounts=CAROL) as running:
        use_provider(settings, running)
        yield running


def start_sign_in(client: Client, *, next_url: str = "") -> str:
    """Press the provider's button: the address of the authorization request."""
    response = client.post(SIGN_IN, {"next": next_url} if next_url else {})
    assert response.status_code == 302, response.content.decode()
    return response["Location"]


def sign_in_at_provider(authorization: str, *, login: str = "carol") -> str:
    """Go through the provider's pages as a browser would, signing in as ``login``; the
    address the provider sends the browser back to (with the code and the state)."""
    provider_origin = "{0.scheme}://{0.netloc}".format(urlsplit(authorization))
    with requests.Session() as session:
        url = authorization
        for _ in range(10):
            response = session.get(url, allow_redirects=False, timeout=10)
            if response.status_code == 200 and "/interaction/" in url:
                response = session.post(
                    url,
                    data={"login": login, "password": ACCOUNT_PASSWORD},
                    allow_redirects=False,
                    timeout=10,
                )
            assert response.is_redirect, response.text
            url = urljoin(url, response.headers["Location"])
            if not url.startswith(provider_origin):
                return url
    pytest.fail("the provider never sent the browser back")


def come_back(client: Client, callback: str) -> TestResponse:
    parts = urlsplit(callback)
    assert f"{parts.scheme}://{parts.netloc}" == SITE
    return client.get(f"{parts.path}?{parts.query}")


def sign_in(client: Client, *, login: str = "carol", next_url: str = "") -> TestResponse:
    authorization = start_sign_in(client, next_url=next_url)
    return come_back(client, sign_in_at_provider(authorization, login=login))


def signed_in_as(client: Client) -> Any:
    return client.get(reverse("archives:dashboard")).wsgi_request.user


def test_a_first_sign_in_makes_an_account_and_comes_back_to_next(
    client: Client, provider: IdentityProvider
) -> None:
    response = sign_in(client, next_url="/dashboard/")

    assert response.status_code == 302, response.content.decode()
    assert response["Location"] == "/dashboard/"
    carol = User.objects.get(username="carol")
    assert signed_in_as(client) == carol
    assert not carol.has_usable_password()
    assert SocialAccount.objects.get(user=carol).uid == "carol"
    address = EmailAddress.objects.get(user=carol)
    assert (address.email, address.verified) == ("carol@example.org", True)


def test_the_provider_is_found_by_discovery_and_asked_with_pkce_and_a_nonce(
    client: Client, provider: IdentityProvider
) -> None:
    authorization = start_sign_in(client)
    sign_in(client)

    query = parse_qs(urlsplit(authorization).query)
    assert authorization.startswith(provider.issuer + "/auth?")
    assert query["code_challenge_method"] == ["S256"]
    assert re.fullmatch(r"[\w-]{43}", query["code_challenge"][0])
    assert len(query["nonce"][0]) >= 32
    asked = [(seen["method"], seen["path"]) for seen in provider.requests()]
    assert ("GET", "/.well-known/openid-configuration") in asked
    # The provider requires PKCE: the code was exchanged, so the verifier matched.
    assert ("POST", "/token") in asked
    assert ("GET", "/me") in asked


def discovery_fetches(provider: IdentityProvider) -> int:
    asked = [(seen["method"], seen["path"]) for seen in provider.requests()]
    return asked.count(("GET", "/.well-known/openid-configuration"))


def test_the_discovery_document_is_fetched_once_for_many_sign_ins(
    client: Client, provider: IdentityProvider
) -> None:
    start_sign_in(client)
    start_sign_in(client)

    assert discovery_fetches(provider) == 1

    sign_in(client)
    client.logout()
    sign_in(client)

    assert signed_in_as(client).username == "carol"
    assert discovery_fetches(provider) == 1


def test_the_discovery_document_is_fetched_again_once_its_time_is_up(
    client: Client, provider: IdentityProvider
) -> None:
    start_sign_in(client)

    later = timezone.now() + timedelta(seconds=DISCOVERY_CACHE_SECONDS + 1)
    with time_machine.travel(later):
        start_sign_in(client)

    assert discovery_fetches(provider) == 2


def test_a_return_for_a_provider_not_in_the_settings_is_404(
    client: Client, provider: IdentityProvider
) -> None:
    response = client.get("/accounts/oidc/elsewhere/login/callback/?code=a-code&state=a-state")

    assert response.status_code == 404


def test_a_link_cannot_choose_the_redirect_uri_or_the_scopes(
    client: Client, provider: IdentityProvider
) -> None:
    crafted = "auth_params=redirect_uri%3Dhttps%3A%2F%2Fevil.example%2F&scope=offline_access"

    response = client.post(f"{SIGN_IN}?{crafted}")

    query = parse_qs(urlsplit(response["Location"]).query)
    assert query["redirect_uri"] == [f"{SITE}/accounts/oidc/{PROVIDER_ID}/login/callback/"]
    assert set(query["scope"][0].split()) == {"openid", "profile", "email"}


def test_a_second_sign_in_reaches_the_same_account(
    client: Client, provider: IdentityProvider
) -> None:
    sign_in(client)
    client.logout()

    sign_in(client)

    assert User.objects.count() == 1
    assert signed_in_as(client).username == "carol"


def test_a_wrong_state_is_refused(client: Client, provider: IdentityProvider) -> None:
    callback = sign_in_at_provider(start_sign_in(client))
    forged = re.sub(r"state=[^&]+", "state=forged-state", callback)

    response = come_back(client, forged)

    assert response.status_code == 400
    assert "Sign-in failed" in response.content.decode()
    assert not User.objects.exists()
    assert not signed_in_as(client).is_authenticated


def test_a_state_is_spent_by_its_first_use(client: Client, provider: IdentityProvider) -> None:
    callback = sign_in_at_provider(start_sign_in(client))
    assert come_back(client, callback).status_code == 302
    client.logout()

    assert come_back(client, callback).status_code == 400


@pytest.mark.parametrize("tamper", ["audience", "nonce", "subject"])
def test_an_answer_for_another_audience_sign_in_or_user_is_refused(
    client: Client, tmp_path: Path, settings: DjangoSettings, tamper: str
) -> None:
    with identity_provider(tmp_path, site=SITE, accounts=CAROL, tamper=tamper) as running:
        use_provider(settings, running)
        response = sign_in(client)

    assert response.status_code == 400
    assert "Sign-in failed" in response.content.decode()
    assert not User.objects.exists()
    assert not signed_in_as(client).is_authenticated


def test_an_e_mail_of_a_domain_not_allowed_is_refused_with_a_page(
    client: Client, provider: IdentityProvider, settings: DjangoSettings
) -> None:
    use_provider(settings, provider, allowed_domains=["corp.example"])

    response = sign_in(client)

    body = response.content.decode()
    assert response.status_code == 403
    assert "Sign-in refused" in body
    assert "carol@example.org" in body and "@corp.example" in body
    assert not User.objects.exists()
    assert not signed_in_as(client).is_authenticated


def test_an_unverified_e_mail_of_an_allowed_domain_is_refused(
    client: Client, tmp_path: Path, settings: DjangoSettings
) -> None:
    unverified = account("carol", email="carol@corp.example", email_verified=False)
    with identity_provider(tmp_path, site=SITE, accounts=unverified) as running:
        use_provider(settings, running, allowed_domains=["corp.example"])
        response = sign_in(client)

    assert response.status_code == 403
    assert not User.objects.exists()


def test_an_e_mail_of_an_allowed_domain_signs_in(
    client: Client, provider: IdentityProvider, settings: DjangoSettings
) -> None:
    use_provider(settings, provider, allowed_domains=["corp.example", "example.org"])

    response = sign_in(client)

    assert response.status_code == 302
    assert signed_in_as(client).username == "carol"


def test_an_address_verified_on_both_sides_signs_in_to_the_existing_account(
    client: Client, provider: IdentityProvider, user: User, password: str
) -> None:
    EmailAddress.objects.create(user=user, email="carol@example.org", verified=True, primary=True)

    response = sign_in(client)

    assert response.status_code == 302
    assert signed_in_as(client) == user
    assert User.objects.count() == 1
    assert SocialAccount.objects.get(uid="carol").user == user
    user.refresh_from_db()
    # Their own password still works: the link was made by an address they verified.
    assert user.check_password(password)


def test_an_address_the_provider_did_not_verify_links_to_nobody(
    client: Client, tmp_path: Path, settings: DjangoSettings, user: User
) -> None:
    EmailAddress.objects.create(user=user, email="carol@example.org", verified=True, primary=True)
    unverified = account("carol", email="carol@example.org", email_verified=False)
    with identity_provider(tmp_path, site=SITE, accounts=unverified) as running:
        use_provider(settings, running)
        response = sign_in(client)

    newcomer = signed_in_as(client)
    assert response.status_code == 302
    assert newcomer != user and newcomer.username == "carol"
    assert not SocialAccount.objects.filter(user=user).exists()
    # The address stays with the account that verified it.
    assert list(EmailAddress.objects.filter(email__iexact="carol@example.org")) == [
        EmailAddress.objects.get(user=user)
    ]
    assert newcomer.email == ""


def test_an_address_this_site_never_verified_links_to_nobody(
    client: Client, provider: IdentityProvider, password: str
) -> None:
    squatter = User.objects.create_user(username="squatter", password=password)
    EmailAddress.objects.create(
        user=squatter, email="carol@example.org", verified=False, primary=True
    )

    response = sign_in(client)

    newcomer = signed_in_as(client)
    assert response.status_code == 302
    assert newcomer != squatter and newcomer.username == "carol"
    assert not SocialAccount.objects.filter(user=squatter).exists()
    squatter.refresh_from_db()
    assert squatter.check_password(password)


def test_a_taken_username_gets_the_next_free_number(
    client: Client, provider: IdentityProvider
) -> None:
    User.objects.create_user(username="carol")
    User.objects.create_user(username="carol-2")

    sign_in(client)

    assert signed_in_as(client).username == "carol-3"


def test_starting_sign_ins_is_throttled_per_address_with_429(
    client: Client, provider: IdentityProvider, settings: DjangoSettings
) -> None:
    settings.LOGIN_ATTEMPTS_PER_IP = 2
    start_sign_in(client)
    start_sign_in(client)

    refused = client.post(SIGN_IN)

    assert refused.status_code == 429
    assert int(refused["Retry-After"]) > 0


def test_a_finished_sign_in_does_not_count_against_the_address(
    client: Client, provider: IdentityProvider, settings: DjangoSettings
) -> None:
    settings.LOGIN_ATTEMPTS_PER_IP = 1
    for _ in range(3):
        assert sign_in(client).status_code == 302
        client.logout()


def test_the_login_page_offers_the_provider_and_lets_its_form_lead_there(
    client: Client, provider: IdentityProvider
) -> None:
    response = client.get(reverse("accounts:login"))

    body = response.content.decode()
    assert f"Sign in with {LABEL}" in body
    assert f'action="{SIGN_IN}"' in body
    policy = response["Content-Security-Policy"]
    assert f"form-action 'self' {provider.issuer}" in policy


@pytest.mark.parametrize(
    ("claims", "first"),
    [
        ({"preferred_username": "Carol.Smith"}, "carol.smith"),
        ({"preferred_username": "carol smith!", "email": "c@x.org"}, "carol-smith"),
        ({"email": "Dave+work@example.org"}, "dave+work"),
        ({"name": "Ёлка Ивановна"}, "ёлка-ивановна"),
        ({"preferred_username": "\uff45\uff56\uff45"}, "eve"),
        ({"preferred_username": "!!!", "email": ""}, "user"),
        ({}, "user"),
        ({"preferred_username": "x" * 300}, "x" * 146),
    ],
)
def test_username_candidates_are_safe_names_then_numbered(
    claims: dict[str, Any], first: str
) -> None:
    candidates = list(username_candidates(claims))

    assert candidates[0] == first
    assert candidates[1] == f"{first}-2"
    assert len(candidates) == 100
    assert all(re.fullmatch(r"[\w.@+-]{1,150}", name) for name in candidates)


def test_the_form_action_names_each_provider_origin_once() -> None:
    sources = form_action_sources(
        ["https://idp.example/realms/a", "https://idp.example/realms/b", "http://127.0.0.1:5"]
    )

    assert sources == "'self' http://127.0.0.1:5 https://idp.example"


def test_a_link_to_the_sign_in_asks_to_confirm_before_leaving(
    client: Client, provider: IdentityProvider
) -> None:
    response = client.get(SIGN_IN)

    body = response.content.decode()
    assert response.status_code == 200
    assert f"Sign In Via {LABEL}" in body and 'method="post"' in body
    assert f"form-action 'self' {provider.issuer}" in response["Content-Security-Policy"]
    assert not [seen for seen in provider.requests() if seen["path"] == "/auth"]
