from __future__ import annotations

from django.urls import path
from rest_framework.routers import SimpleRouter

from archives.api.views import ArchiveViewSet, DownloadsCsvView, LinkViewSet

app_name = "archives-api"

router = SimpleRouter(trailing_slash=True)
router.register("archives", ArchiveViewSet, basename="archive")

links = LinkViewSet.as_view({"get": "list", "post": "create"})
link = LinkViewSet.as_view({"get": "retrieve", "patch": "partial_update", "delete": "destroy"})

urlpatterns = [
    *router.urls,
    path("archives/<str:pk>/downloads.csv", DownloadsCsvView.as_view(), name="downloads-csv"),
    path("archives/<str:archive_id>/links/", links, name="archive-links"),
    path("archives/<str:archive_id>/links/<str:pk>/", link, name="archive-link"),
]
