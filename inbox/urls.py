from __future__ import annotations

from django.urls import path

from inbox import views

app_name = "inbox"

urlpatterns = [
    path("requests/", views.requests_page, name="requests"),
    path("requests/<str:request_id>/", views.request_page, name="request"),
    path("requests/<str:request_id>/close/", views.close, name="close"),
    path("r/<str:slug>/", views.send, name="send"),
]
