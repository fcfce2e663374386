from __future__ import annotations

from django.urls import path

from archives import views

app_name = "archives"

urlpatterns = [
    path("", views.home, name="home"),
    path("s/<str:slug>/", views.share, name="share"),
]
