from __future__ import annotations

from django.contrib import admin

from archives.models import Archive, ArchiveFile, AuditEntry, Download


class ArchiveFileInline(admin.TabularInline):
    model = ArchiveFile
    extra = 0
    readonly_fields = ["position", "name", "original_name", "size", "sha256", "source_name"]
    can_delete = False


@admin.register(Archive)
class ArchiveAdmin(admin.ModelAdmin):
    list_display = ["name", "owner", "status", "size", "download_count", "expires_at"]
    list_filter = ["status"]
    search_fields = ["name", "slug", "owner__username"]
    readonly_fields = ["id", "slug", "password", "sha256", "zip_name", "progress"]
    inlines = [ArchiveFileInline]


@admin.register(Download)
class DownloadAdmin(admin.ModelAdmin):
    list_display = ["archive", "at", "ip", "referer"]
    readonly_fields = ["archive", "at", "ip", "referer", "user_agent"]


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin):
    list_display = ["at", "archive_name", "actor", "action", "field", "old", "new"]
    list_filter = ["action"]
    search_fields = ["archive_id", "archive_name", "actor__username"]
    readonly_fields = ["archive_id", "archive_name", "actor", "at", "action", "field", "old", "new"]
