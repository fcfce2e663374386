from __future__ import annotations

from django.urls import path

from accounts.api.views import RegisterView, TokenView

app_name = "accounts-api"

urlpatterns = [
    path("register/", RegisterView.as_view(), name="register"),
    path("token/", TokenView.as_view(), name="token"),
]
