"""``REQUIRE_TWO_FACTOR``: a signed-in user without a second factor reaches only the
pages that add one, and sign-out, until they have one."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.contrib import messages
from django.shortcuts import redirect
from django.urls import Resolver404, resolve
from django.utils.translation import gettext as _

from accounts.two_factor import must_enrol

if TYPE_CHECKING:
    from collections.abc import Callable

    from django.http import HttpRequest, HttpResponseBase

# The pages (by URL name) such a user may still open: allauth.mfa's enrolment pages, the
# confirmation of the password they ask for first, sign-out and the language switch.
ENROLMENT_VIEWS = frozenset(
    {
        "mfa_index",
        "mfa_activate_totp",
        "mfa_add_webauthn",
        "mfa_list_webauthn",
        "mfa_view_recovery_codes",
        "mfa_generate_recovery_codes",
        "mfa_download_recovery_codes",
        "mfa_reauthenticate",
        "mfa_reauthenticate_webauthn",
        "account_reauthenticate",
        "account_logout",
        "accounts:logout",
        "set_language",
        "javascript-catalog",
    }
)


def is_enrolment_path(path: str) -> bool:
    try:
        return resolve(path).view_name in ENROLMENT_VIEWS
    except Resolver404:
        return False


class RequireTwoFactorMiddleware:
    """Sends such a user to the two-factor page. API paths are left to the API's own
    permission checks, which see every credential (session, token or key)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        if (
            not request.path_info.startswith("/api/")
            and must_enrol(request.user)
            and not is_enrolment_path(request.path_info)
        ):
            messages.warning(
                request,
                _(
                    "This site requires two-factor authentication: add an authenticator "
                    "app or a passkey to go on."
                ),
            )
            return redirect("mfa_index")
        return self.get_response(request)
