"""What an API key may do: its scopes, and the scope each API view asks of it.

A view declares ``required_scopes = ScopeRule(read=..., write=...)`` (or one of the rules
below): a request of a safe method (GET, HEAD, OPTIONS) needs ``read``, any other
``write``. ``accounts.api.permissions.KeyScopePermission`` reads the declaration; a view
without one refuses API keys altogether. Sessions and account tokens are never limited.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import models
from django.utils.translation import gettext_lazy as _

SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


class Scope(models.TextChoices):
    ARCHIVES_READ = "archives:read", _("Read archives, links and statistics")
    ARCHIVES_WRITE = "archives:write", _("Upload, change and delete archives and links")
    REQUESTS_READ = "requests:read", _("Read upload requests")
    REQUESTS_WRITE = "requests:write", _("Create, change and close upload requests")
    WEBHOOKS_WRITE = "webhooks:write", _("Read and manage webhooks and e-mail choices")


@dataclass(frozen=True)
class ScopeRule:
    """The scope a key needs on a view: ``read`` for safe methods, ``write`` for others."""

    read: Scope
    write: Scope

    def for_method(self, method: str) -> Scope:
        return self.read if method.upper() in SAFE_METHODS else self.write


ARCHIVES = ScopeRule(read=Scope.ARCHIVES_READ, write=Scope.ARCHIVES_WRITE)
REQUESTS = ScopeRule(read=Scope.REQUESTS_READ, write=Scope.REQUESTS_WRITE)
# There is no webhooks:read: a webhook's secret is as good as the right to change it.
WEBHOOKS = ScopeRule(read=Scope.WEBHOOKS_WRITE, write=Scope.WEBHOOKS_WRITE)
# Resumable uploads are uploads: every step, the status (HEAD) included.
UPLOADS = ScopeRule(read=Scope.ARCHIVES_WRITE, write=Scope.ARCHIVES_WRITE)


def required_scope(view: object, method: str) -> Scope | None:
    """The scope a key needs for ``method`` on ``view``; None when the view declares no
    rule, and so takes no keys."""
    rule = getattr(view, "required_scopes", None)
    if not isinstance(rule, ScopeRule):
        return None
    return rule.for_method(method)
