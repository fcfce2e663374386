from __future__ import annotations

from typing import TYPE_CHECKING

from django.conf import settings
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin
from django.template.defaultfilters import filesizeformat
from django.utils.module_loading import import_string

from accounts.forms import AdminLoginForm
from accounts.models import ApiKey, User
from accounts.quotas import quota_of
from accounts.services import deactivate_user

if TYPE_CHECKING:
    from typing import Any

    from django.db.models import QuerySet
    from django.http import HttpRequest


@admin.register(User)
class AccountAdmin(UserAdmin):
    """Users with what they store (``ACCOUNT_USAGE``: the archives' count, so this app
    needs none of them), their quota and its override, and deactivation."""

    list_display = ["username", "is_active", "is_staff", "stored", "archives", "quota"]
    list_filter = ["is_active", "is_staff", "is_superuser"]
    actions = ["deactivate"]

    def get_fieldsets(self, request: HttpRequest, obj: User | None = None) -> Any:
        fieldsets = super().get_fieldsets(request, obj)
        if obj is None:
            return fieldsets
        return [*fieldsets, ("Quota", {"fields": ["quota_bytes"]})]

    def get_queryset(self, request: HttpRequest) -> QuerySet[User]:
        with_usage = import_string(settings.ACCOUNT_USAGE)
        return with_usage(super().get_queryset(request))

    @admin.display(description="stored", ordering="stored_bytes")
    def stored(self, user: User) -> str:
        return filesizeformat(getattr(user, "stored_bytes", 0))

    @admin.display(description="archives", ordering="archive_count")
    def archives(self, user: User) -> int:
        return getattr(user, "archive_count", 0)

    @admin.display(description="quota", ordering="quota_bytes")
    def quota(self, user: User) -> str:
        limit = filesizeformat(quota_of(user).limit)
        return limit if user.quota_bytes is None else f"{limit} (override)"

    @admin.action(description="Deactivate: no sign-in, no API, their shares stop")
    def deactivate(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        count = sum(deactivate_user(user) for user in queryset)
        self.message_user(request, f"{count} users deactivated.", messages.SUCCESS)


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    list_display = ["name", "prefix", "user", "created_at", "last_used_at", "revoked_at"]
    search_fields = ["name", "prefix", "user__username"]
    readonly_fields = ["user", "prefix", "key_hash", "created_at", "last_used_at"]


# The admin signs in through the same throttled check as the login page and the API.
admin.site.login_form = AdminLoginForm
