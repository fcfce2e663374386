from __future__ import annotations

from typing import TYPE_CHECKING

from django.shortcuts import get_object_or_404, render

from archives.models import Archive

if TYPE_CHECKING:
    from django.http import HttpRequest, HttpResponse


def home(request: HttpRequest) -> HttpResponse:
    return render(request, "archives/home.html")


def share(request: HttpRequest, slug: str) -> HttpResponse:
    archive = get_object_or_404(Archive.objects.prefetch_related("files"), slug=slug)
    return render(request, "archives/share.html", {"archive": archive})
