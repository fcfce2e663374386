from __future__ import annotations

import os

from celery import Celery
from celery.signals import beat_init, worker_init, worker_ready
from django.conf import settings

from config.local_state import prepare_local_state
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


@worker_init.connect
@beat_init.connect
def prepare_worker_state(**kwargs: object) -> None:
    """A worker or beat started on its own (the images, compose, Kubernetes) makes what
    var/ must hold, as ``manage.py`` and ``make run`` do."""
    prepare_local_state()
