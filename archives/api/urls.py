from __future__ import annotations

from django.urls import path
from rest_framework.routers import SimpleRouter

from archives.api.views import ArchiveViewSet, ShareDownloadView, ShareView

app_name = "archives-api"

router = SimpleRouter(trailing_slash=True)
router.register("archives", ArchiveViewSet, basename="archive")

urlpatterns = [
    *router.urls,
    path("shares/<str:slug>/", ShareView.as_view(), name="share"),
    path("shares/<str:slug>/download", ShareDownloadView.as_view(), name="share-download"),
]
