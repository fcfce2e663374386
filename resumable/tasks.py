"""Celery tasks of resumable uploads: each calls one function."""

from __future__ import annotations

from celery import shared_task
from django.utils import timezone

from resumable.services import purge_expired_uploads


@shared_task
def purge_expired_uploads_task() -> int:
    return purge_expired_uploads(now=timezone.now())
