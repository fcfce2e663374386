from __future__ import annotations

from django.urls import path

from resumable.api.views import UploadsView, UploadView

app_name = "resumable"

urlpatterns = [
    path("", UploadsView.as_view(), name="uploads"),
    path("<str:upload_id>", UploadView.as_view(), name="upload"),
]
