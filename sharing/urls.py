from __future__ import annotations

from django.urls import path

from sharing import previews, views

app_name = "sharing"

urlpatterns = [
    path("s/<str:slug>/", views.share, name="share"),
    path("s/<str:slug>/unlock", views.unlock, name="unlock"),
    path("s/<str:slug>/download", views.download, name="download"),
    path("s/<str:slug>/files/<int:index>/", previews.preview, name="file-preview"),
    path("s/<str:slug>/files/<int:index>/raw", previews.raw, name="file-raw"),
    path("s/<str:slug>/files/<int:index>/thumbnail.png", previews.thumbnail, name="file-thumbnail"),
    path("s/<str:slug>/files/<int:index>/download", views.file_download, name="file-download"),
    path("s/<str:slug>/qr.svg", views.share_qr, name="share-qr"),
]
