from __future__ import annotations

from django.contrib import admin
from django.urls import include, path, re_path
from django.views.i18n import JavaScriptCatalog
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from core.exceptions import api_not_found
from core.health import healthz
from core.metrics import metrics_view

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("metrics", metrics_view, name="metrics"),
    path("admin/", admin.site.urls),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="schema"), name="docs"),
    path("api/auth/", include("accounts.api.urls")),
    path("api/keys/", include("accounts.api.key_urls")),
    path("api/", include("archives.api.urls")),
    path("api/", include("sharing.api.urls")),
    path("api/", include("inbox.api.urls")),
    path("api/uploads/", include("resumable.api.urls")),
    path("api/", include("notifications.api.urls")),
    re_path(r"^api/", api_not_found),
    path("i18n/", include("django.conf.urls.i18n")),
    path("jsi18n/", JavaScriptCatalog.as_view(), name="javascript-catalog"),
    # Ours first: the login, logout and register pages are ours (on allauth's views and
    # flow); allauth's other pages (its stages, providers, two-factor) follow.
    path("accounts/", include("accounts.urls")),
    path("accounts/", include("allauth.urls")),
    path("notifications/", include("notifications.urls")),
    path("", include("archives.urls")),
    path("", include("sharing.urls")),
    path("", include("inbox.urls")),
]
