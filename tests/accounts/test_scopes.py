from __future__ import annotations

import pytest

from accounts.scopes import ARCHIVES, UPLOADS, WEBHOOKS, Scope, required_scope


class Declared:
    required_scopes = ARCHIVES


class Undeclared:
    pass


@pytest.mark.parametrize(
    ("method", "scope"),
    [
        ("GET", Scope.ARCHIVES_READ),
        ("head", Scope.ARCHIVES_READ),
        ("OPTIONS", Scope.ARCHIVES_READ),
        ("POST", Scope.ARCHIVES_WRITE),
        ("PATCH", Scope.ARCHIVES_WRITE),
        ("PUT", Scope.ARCHIVES_WRITE),
        ("DELETE", Scope.ARCHIVES_WRITE),
    ],
)
def test_safe_methods_need_the_read_scope_and_others_the_write_scope(
    method: str, scope: Scope
) -> None:
    assert required_scope(Declared(), method) == scope


def test_a_view_without_a_declaration_needs_a_scope_no_key_has() -> None:
    assert required_scope(Undeclared(), "GET") is None


def test_webhooks_and_resumable_uploads_need_their_write_scope_to_read() -> None:
    assert WEBHOOKS.for_method("GET") == Scope.WEBHOOKS_WRITE
    assert UPLOADS.for_method("HEAD") == Scope.ARCHIVES_WRITE


def test_the_scopes_are_those_of_the_design() -> None:
    assert set(Scope.values) == {
        "archives:read", "archives:write", "requests:read", "requests:write", "webhooks:write",
    }  # fmt: skip
