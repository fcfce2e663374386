"""The OpenAPI schema names the API-key scope of each operation that takes keys."""

from __future__ import annotations

from typing import Any

from drf_spectacular.openapi import AutoSchema

from accounts.scopes import required_scope


class ScopedAutoSchema(AutoSchema):
    """drf-spectacular's schema, with ``x-api-key-scope`` and a sentence in the
    description on every operation an API key may call (``accounts.scopes``)."""

    def get_description(self) -> str:
        description = super().get_description()
        scope = required_scope(self.view, self.method)
        if scope is None:
            return description
        note = f"API keys need the scope `{scope}`."
        return f"{description}\n\n{note}" if description else note

    def get_extensions(self) -> dict[str, Any]:
        extensions = super().get_extensions()
        scope = required_scope(self.view, self.method)
        if scope is not None:
            extensions["x-api-key-scope"] = str(scope)
        return extensions
