from __future__ import annotations

from django.urls import path

from sharing import views

app_name = "sharing"

urlpatterns = [
    path("s/<str:slug>/", views.share, name="share"),
    path("s/<str:slug>/unlock", views.unlock, name="unlock"),
    path("s/<str:slug>/download", views.download, name="download"),
    path("s/<str:slug>/files/<int:index>/download", views.file_download, name="file-download"),
    path("s/<str:slug>/qr.svg", views.share_qr, name="share-qr"),
]
