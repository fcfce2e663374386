from __future__ import annotations

from django.urls import path

from notifications import views

app_name = "notifications"

urlpatterns = [
    path("", views.notifications, name="page"),
    path("webhooks/", views.add_webhook, name="add"),
    path("webhooks/<str:webhook_id>/test/", views.test_webhook, name="test"),
    path("webhooks/<str:webhook_id>/toggle/", views.toggle_webhook, name="toggle"),
    path("webhooks/<str:webhook_id>/delete/", views.delete, name="delete"),
    path("email/", views.email_choices, name="email"),
]
