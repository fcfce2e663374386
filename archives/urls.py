from __future__ import annotations

from django.urls import path

from archives import views

app_name = "archives"

urlpatterns = [
    path("", views.home, name="home"),
    path("upload/", views.upload, name="upload"),
    path("dashboard/", views.dashboard, name="dashboard"),
    path("dashboard/<str:archive_id>/edit/", views.edit, name="edit"),
    path("dashboard/<str:archive_id>/delete/", views.delete, name="delete"),
    path("dashboard/<str:archive_id>/retry/", views.retry, name="retry"),
    path("dashboard/<str:archive_id>/stats/", views.stats, name="stats"),
    path("dashboard/<str:archive_id>/links/", views.links, name="links"),
    path("dashboard/<str:archive_id>/links/<str:link_id>/", views.link_edit, name="link-edit"),
    path(
        "dashboard/<str:archive_id>/links/<str:link_id>/revoke/",
        views.link_revoke,
        name="link-revoke",
    ),
]
