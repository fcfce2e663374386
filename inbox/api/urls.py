from __future__ import annotations

from django.urls import path
from rest_framework.routers import SimpleRouter

from inbox.api.tus import RequestUploadsView, RequestUploadView
from inbox.api.views import PublicRequestView, SubmissionView, UploadRequestViewSet

app_name = "inbox-api"

router = SimpleRouter(trailing_slash=True)
router.register("requests", UploadRequestViewSet, basename="request")

urlpatterns = [
    path("requests/public/<str:slug>/", PublicRequestView.as_view(), name="public-request"),
    path("requests/public/<str:slug>/submissions/", SubmissionView.as_view(), name="submissions"),
    path(
        "requests/public/<str:slug>/uploads/", RequestUploadsView.as_view(), name="request-uploads"
    ),
    path(
        "requests/public/<str:slug>/uploads/<str:upload_id>",
        RequestUploadView.as_view(),
        name="request-upload",
    ),
    *router.urls,
]
