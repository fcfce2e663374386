"""Prometheus metrics: the counters the service keeps and the ``/metrics`` view.

Each ``count_*`` function is the one line a module calls where the event happens.
``/metrics`` answers only with ``METRICS_ENABLED``, and with ``METRICS_TOKEN`` set only to
``Authorization: Bearer <token>``.

gunicorn runs several worker processes, each with its own counters. With
``PROMETHEUS_MULTIPROC_DIR`` naming an empty folder (one per host or container), every
process writes its values there and ``/metrics`` adds them up (prometheus-client's
multiprocess mode); without it a scrape sees the counters of the process that answered.
"""

from __future__ import annotations

import hmac
from typing import TYPE_CHECKING

from django.conf import settings
from django.http import HttpResponse
from django.views.decorators.cache import never_cache
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    start_http_server,
)
from prometheus_client.multiprocess import MultiProcessCollector

if TYPE_CHECKING:
    from django.http import HttpRequest

PREFIX = "awaiting_death"

UPLOADS = Counter(f"{PREFIX}_uploads", "Archives created by an upload.")
UPLOADED_FILES = Counter(f"{PREFIX}_uploaded_files", "Files received in uploads.")
UPLOADED_BYTES = Counter(f"{PREFIX}_uploaded_bytes", "Bytes received in uploads.")
BUILDS = Counter(f"{PREFIX}_builds", "ZIP builds that ended, by result.", ["result"])
BUILD_SECONDS = Histogram(
    f"{PREFIX}_build_seconds",
    "Wall time of one ZIP build.",
    buckets=(0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600),
)
DOWNLOADS = Counter(f"{PREFIX}_downloads", "Downloads counted against an archive's limit.")
BYTES_SERVED = Counter(f"{PREFIX}_served_bytes", "Bytes of ZIP sent (or handed to nginx).")
REFUSALS = Counter(f"{PREFIX}_download_refusals", "Refused downloads, by reason.", ["reason"])


def count_upload(*, files: int, size: int) -> None:
    """One archive created from ``files`` uploaded files of ``size`` bytes in all."""
    UPLOADS.inc()
    UPLOADED_FILES.inc(files)
    UPLOADED_BYTES.inc(size)


def count_build(result: str, *, seconds: float) -> None:
    """A build ended with ``result`` (``ready`` or ``failed``) after ``seconds``."""
    BUILDS.labels(result=result).inc()
    BUILD_SECONDS.observe(seconds)


def count_download() -> None:
    """A new download was counted (a resumed one is not)."""
    DOWNLOADS.inc()


def count_bytes_served(size: int) -> None:
    """``size`` bytes of an archive were sent, or handed to nginx to send."""
    BYTES_SERVED.inc(size)


def count_refusal(reason: str) -> None:
    """A download was refused; ``reason`` is the ``Outcome`` value (``expired``, ...)."""
    REFUSALS.labels(reason=reason).inc()


def start_exporter(port: int) -> None:
    """Serve this process's metrics on ``port`` (for a Celery worker, which has no web
    server of its own); returns at once, the server runs in a daemon thread."""
    start_http_server(port, registry=_registry())


def _registry() -> CollectorRegistry:
    if not settings.METRICS_MULTIPROC_DIR:
        return REGISTRY
    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=settings.METRICS_MULTIPROC_DIR)
    return registry


def _is_authorized(request: HttpRequest) -> bool:
    token = settings.METRICS_TOKEN
    if not token:
        return True
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(given.strip(), token)


@never_cache
def metrics_view(request: HttpRequest) -> HttpResponse:
    """The metrics in Prometheus' text format; 404 when disabled, 401 without the token."""
    if not settings.METRICS_ENABLED:
        return HttpResponse("Not found.\n", status=404, content_type="text/plain")
    if not _is_authorized(request):
        response = HttpResponse("Bearer token required.\n", status=401, content_type="text/plain")
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    return HttpResponse(generate_latest(_registry()), content_type=CONTENT_TYPE_LATEST)
