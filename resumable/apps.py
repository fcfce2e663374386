from __future__ import annotations

from django.apps import AppConfig


class ResumableConfig(AppConfig):
    name = "resumable"
    default_auto_field = "django.db.models.BigAutoField"
