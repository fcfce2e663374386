from __future__ import annotations

from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"

    def ready(self) -> None:
        from allauth.mfa.signals import (
            authenticator_added,
            authenticator_removed,
            authenticator_reset,
        )

        from accounts.two_factor import end_other_sessions_on_change, revoke_tokens_on_enrolment

        # A token from before the second factor was added was had with the password alone.
        authenticator_added.connect(revoke_tokens_on_enrolment, dispatch_uid="revoke-tokens")
        # As a password change does: a session begun under the former factors ends.
        authenticator_added.connect(end_other_sessions_on_change, dispatch_uid="end-sessions")
        authenticator_removed.connect(end_other_sessions_on_change, dispatch_uid="end-sessions")
        # New recovery codes: a session begun with one of the old ones ends too.
        authenticator_reset.connect(end_other_sessions_on_change, dispatch_uid="end-sessions")
