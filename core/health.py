"""``/healthz``: 200 when the database answers, with the broker's state beside it."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from celery import current_app
from django.db import DatabaseError, connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache

if TYPE_CHECKING:
    from django.http import HttpRequest

logger = logging.getLogger(__name__)


def database_state() -> str:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except DatabaseError as exc:
        logger.warning("health: database unreachable: %s", exc)
        return "unreachable"
    return "ok"


def broker_state() -> str:
    try:
        with current_app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
    except Exception as exc:  # kombu raises transport-specific types
        logger.warning("health: broker unreachable: %s", exc)
        return "unreachable"
    return "ok"


@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    database = database_state()
    body = {"database": database, "broker": broker_state()}
    body["status"] = "ok" if database == "ok" else "unavailable"
    return JsonResponse(body, status=200 if database == "ok" else 503)
