from __future__ import annotations

from django.urls import path
from django.views.generic import RedirectView

from accounts import views

app_name = "accounts"

urlpatterns = [
    path("login/", views.LoginView.as_view(), name="login"),
    path("logout/", views.logout_view, name="logout"),
    path("register/", views.register, name="register"),
    # allauth's own address for a new account (its pages link there) leads to ours.
    path(
        "signup/",
        RedirectView.as_view(pattern_name="accounts:register", query_string=True),
    ),
    # Ahead of allauth's own views at these addresses (openid_connect_login, which the first
    # calls, and openid_connect_callback, which the second is on our adapter).
    path("oidc/<str:provider_id>/login/", views.provider_sign_in, name="provider-sign-in"),
    path(
        "oidc/<str:provider_id>/login/callback/",
        views.provider_callback,
        name="provider-callback",
    ),
    path("keys/", views.api_keys, name="keys"),
    path("keys/<str:key_id>/revoke/", views.revoke_key, name="revoke-key"),
]
