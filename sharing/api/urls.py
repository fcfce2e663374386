from __future__ import annotations

from django.urls import path

from sharing.api.views import ShareDownloadView, ShareFileDownloadView, ShareView

app_name = "sharing-api"

urlpatterns = [
    path("shares/<str:slug>/", ShareView.as_view(), name="share"),
    path("shares/<str:slug>/download", ShareDownloadView.as_view(), name="share-download"),
    path(
        "shares/<str:slug>/files/<int:index>/download",
        ShareFileDownloadView.as_view(),
        name="share-file-download",
    ),
]
