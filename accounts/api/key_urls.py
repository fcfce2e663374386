from __future__ import annotations

from django.urls import path

from accounts.api.keys import ApiKeysView, ApiKeyView

app_name = "keys-api"

urlpatterns = [
    path("", ApiKeysView.as_view(), name="list"),
    path("<str:pk>/", ApiKeyView.as_view(), name="detail"),
]
