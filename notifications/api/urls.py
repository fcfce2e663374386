from __future__ import annotations

from django.urls import path
from rest_framework.routers import SimpleRouter

from notifications.api.views import EmailChoiceView, WebhookViewSet

app_name = "notifications-api"

router = SimpleRouter(trailing_slash=True)
router.register("webhooks", WebhookViewSet, basename="webhook")

urlpatterns = [
    *router.urls,
    path("notifications/email/", EmailChoiceView.as_view(), name="email"),
]
