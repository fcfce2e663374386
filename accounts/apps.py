from __future__ import annotations

from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"

    def ready(self) -> None:
        from allauth.mfa.signals import authenticator_added

        from accounts.two_factor import revoke_tokens_on_enrolment

        # A token from before the second factor was added was had with the password alone.
        authenticator_added.connect(revoke_tokens_on_enrolment, dispatch_uid="revoke-tokens")
