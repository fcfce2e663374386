from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.http import HttpResponse
from django.utils import timezone
from django.utils.http import content_disposition_header
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.api.auth import authenticated_user
from accounts.scopes import ARCHIVES
from archives.api.serializers import (
    ArchiveCreateSerializer,
    ArchiveFromUploadsSerializer,
    ArchiveSerializer,
    ArchiveUpdateSerializer,
    AuditEntrySerializer,
    DownloadSerializer,
    LinkCreateSerializer,
    LinkSerializer,
    LinkUpdateSerializer,
    StatsQuerySerializer,
    StatsSerializer,
)
from archives.exports import write_downloads_csv
from archives.limits import UploadWatch
from archives.models import Archive, AuditEntry, Link
from archives.services import (
    create_archive,
    create_archive_from_uploads,
    create_link,
    delete_archive,
    get_owned_archive,
    get_owned_link,
    retry_build,
    revoke_link,
    update_archive,
    update_link,
)
from archives.stats import archive_stats
from core.parsers import JSONBodyParser, StreamingMultiPartParser
from resumable.services import UploadsNotUsable

if TYPE_CHECKING:
    from django.db.models import QuerySet
    from rest_framework.parsers import BaseParser
    from rest_framework.request import Request


class ArchiveViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    serializer_class = ArchiveSerializer
    required_scopes = ARCHIVES
    # For the schema only (the id's type); get_queryset scopes every request to its user.
    queryset = Archive.objects.none()
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def get_queryset(self) -> QuerySet[Archive]:
        return Archive.objects.owned_by(authenticated_user(self.request)).prefetch_related("files")

    def get_object(self) -> Archive:
        return get_owned_archive(authenticated_user(self.request), self.kwargs["pk"])

    def get_parsers(self) -> list[BaseParser]:
        """JSON for every operation; creating an archive takes multipart too (the files).
        DRF asks before it sets ``self.action``, so the action is looked up here."""
        method = (self.request.method or "").lower() if self.request is not None else ""
        if getattr(self, "action", None) == "create" or self.action_map.get(method) == "create":
            return [JSONBodyParser(), StreamingMultiPartParser()]
        return super().get_parsers()

    def upload_limits(self, request: Request) -> UploadWatch | None:
        """What the multipart parser may receive: an upload's limits, for an upload."""
        return UploadWatch(authenticated_user(request)) if self.action == "create" else None

    @extend_schema(
        request={
            "multipart/form-data": ArchiveCreateSerializer,
            "application/json": ArchiveFromUploadsSerializer,
        }
    )
    def create(self, request: Request) -> Response:
        if request.content_type.split(";")[0].strip() == "application/json":
            # The files arrived before, as resumable uploads (/api/uploads/, tus).
            uploads = ArchiveFromUploadsSerializer(data=request.data)
            uploads.is_valid(raise_exception=True)
            given: dict[str, Any] = uploads.validated_data
            try:
                archive = create_archive_from_uploads(
                    authenticated_user(request),
                    upload_ids=given["uploads"],
                    name=given.get("name", ""),
                    description=given["description"],
                    password=given["password"],
                    ttl=given.get("ttl"),
                    max_downloads=given.get("max_downloads"),
                    now=timezone.now(),
                )
            except UploadsNotUsable as exc:
                raise ValidationError({"uploads": [str(exc)]}) from exc
            archive = Archive.objects.prefetch_related("files").get(pk=archive.pk)
            body = ArchiveSerializer(archive, context=self.get_serializer_context()).data
            return Response(body, status=status.HTTP_201_CREATED)
        serializer = ArchiveCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data: dict[str, Any] = serializer.validated_data
        files = data["files"]
        archive = create_archive(
            authenticated_user(request),
            files=files,
            name=data.get("name", ""),
            description=data["description"],
            password=data["password"],
            ttl=data.get("ttl"),
            max_downloads=data.get("max_downloads"),
            now=timezone.now(),
            paths=data.get("paths"),
        )
        archive = Archive.objects.prefetch_related("files").get(pk=archive.pk)
        body = ArchiveSerializer(archive, context=self.get_serializer_context()).data
        return Response(body, status=status.HTTP_201_CREATED)

    @extend_schema(request=ArchiveUpdateSerializer)
    def partial_update(self, request: Request, pk: str) -> Response:
        archive = self.get_object()
        serializer = ArchiveUpdateSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        archive = update_archive(archive, now=timezone.now(), **serializer.validated_data)
        return Response(ArchiveSerializer(archive, context=self.get_serializer_context()).data)

    @extend_schema(responses={204: None})
    def destroy(self, request: Request, pk: str) -> Response:
        delete_archive(self.get_object(), now=timezone.now())
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        request=None,
        responses={
            202: ArchiveSerializer,
            404: OpenApiResponse(description="No archive of yours has this id."),
            409: OpenApiResponse(
                inline_serializer("RetryConflict", {"detail": serializers.CharField()}),
                description="The archive's build has not failed (or is retried already).",
            ),
        },
        description="Build a failed archive again: it is pending at once, its build queued.",
    )
    @action(detail=True, methods=["post"])
    def retry(self, request: Request, pk: str) -> Response:
        archive = self.get_object()
        if not retry_build(archive, now=timezone.now()):
            return Response(
                {"detail": "Only a failed build can be retried."}, status=status.HTTP_409_CONFLICT
            )
        archive = Archive.objects.prefetch_related("files").get(pk=archive.pk)
        body = ArchiveSerializer(archive, context=self.get_serializer_context()).data
        return Response(body, status=status.HTTP_202_ACCEPTED)

    @extend_schema(parameters=[StatsQuerySerializer], responses=StatsSerializer)
    @action(detail=True, methods=["get"])
    def stats(self, request: Request, pk: str) -> Response:
        archive = self.get_object()
        query = StatsQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        stats = archive_stats(archive, days=query.validated_data["days"], now=timezone.now())
        return Response(StatsSerializer(stats).data)

    @extend_schema(responses=DownloadSerializer(many=True))
    @action(detail=True, methods=["get"])
    def downloads(self, request: Request, pk: str) -> Response:
        archive = self.get_object()
        page = self.paginate_queryset(archive.downloads.select_related("link"))
        return self.get_paginated_response(DownloadSerializer(page, many=True).data)

    @extend_schema(responses=AuditEntrySerializer(many=True))
    @action(detail=True, methods=["get"])
    def audit(self, request: Request, pk: str) -> Response:
        archive = self.get_object()
        page = self.paginate_queryset(AuditEntry.objects.filter(archive_id=archive.pk))
        return self.get_paginated_response(AuditEntrySerializer(page, many=True).data)


class DownloadsCsvView(APIView):
    """The download log as CSV, fixed columns (archives.exports.DOWNLOAD_COLUMNS)."""

    required_scopes = ARCHIVES

    @extend_schema(
        operation_id="archives_downloads_csv",
        responses={(200, "text/csv"): OpenApiResponse(OpenApiTypes.STR)},
    )
    def get(self, request: Request, pk: str) -> HttpResponse:
        archive = get_owned_archive(authenticated_user(request), pk)
        response = HttpResponse(content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = content_disposition_header(
            as_attachment=True, filename=f"{archive.name}-downloads.csv"
        )
        write_downloads_csv(archive, response)
        return response


class LinkViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    """Recipient links of one archive: ``/api/archives/<id>/links/``."""

    serializer_class = LinkSerializer
    required_scopes = ARCHIVES
    queryset = Link.objects.none()
    pagination_class = None
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def get_queryset(self) -> QuerySet[Link]:
        archive = get_owned_archive(authenticated_user(self.request), self.kwargs["archive_id"])
        return archive.links.all()

    def get_object(self) -> Link:
        return get_owned_link(
            authenticated_user(self.request), self.kwargs["archive_id"], self.kwargs["pk"]
        )

    @extend_schema(request=LinkCreateSerializer, responses={201: LinkSerializer})
    def create(self, request: Request, archive_id: str) -> Response:
        archive = get_owned_archive(authenticated_user(request), archive_id)
        serializer = LinkCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data: dict[str, Any] = serializer.validated_data
        link = create_link(
            archive,
            label=data["label"],
            password=data["password"],
            max_downloads=data.get("max_downloads"),
            ttl=data.get("ttl"),
            now=timezone.now(),
        )
        body = LinkSerializer(link, context=self.get_serializer_context()).data
        return Response(body, status=status.HTTP_201_CREATED)

    @extend_schema(request=LinkUpdateSerializer)
    def partial_update(self, request: Request, archive_id: str, pk: str) -> Response:
        link = self.get_object()
        serializer = LinkUpdateSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        link = update_link(link, now=timezone.now(), **serializer.validated_data)
        return Response(LinkSerializer(link, context=self.get_serializer_context()).data)

    @extend_schema(responses={204: None}, description="Revoke the link: it answers 404 after.")
    def destroy(self, request: Request, archive_id: str, pk: str) -> Response:
        revoke_link(self.get_object(), now=timezone.now())
        return Response(status=status.HTTP_204_NO_CONTENT)
