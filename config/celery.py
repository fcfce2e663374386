from __future__ import annotations

import os

from celery import Celery
from celery.signals import worker_ready
from django.conf import settings

from core import metrics

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("awaiting_death")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@worker_ready.connect
def start_metrics_exporter(**kwargs: object) -> None:
    """A worker has no web server: with METRICS_WORKER_PORT set (and metrics on), it
    serves its own build metrics for Prometheus on that port."""
    if settings.METRICS_ENABLED and settings.METRICS_WORKER_PORT:
        metrics.start_exporter(settings.METRICS_WORKER_PORT)
