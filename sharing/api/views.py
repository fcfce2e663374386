"""The public share API: what a link opens (``/api/shares/<slug>/``), its download
(``/api/shares/<slug>/download``) and the download of one of its files
(``/api/shares/<slug>/files/<index>/download``), for anyone holding the link."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from core.clients import client_ip
from core.serializers import ErrorSerializer
from sharing.api.serializers import SHOW_HASHES, RefusalSerializer, ShareSerializer
from sharing.delivery import Prefetch, Refusal, Unavailable, deliver_archive, refusal_headers
from sharing.disclosure import may_see_hashes
from sharing.downloads import Outcome, Share, find_member, find_share, index_unknown_members

if TYPE_CHECKING:
    from django.http import HttpResponseBase
    from rest_framework.request import Request


class ShareView(APIView):
    """What a link opens, for anyone holding it. Signing in is optional: it only lets the
    owner see the hashes of a share with a password."""

    permission_classes = [AllowAny]

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "X-Archive-Password",
                str,
                OpenApiParameter.HEADER,
                description=(
                    "The share's password, to see the hashes of a share that has one; a "
                    "wrong one counts towards the same throttle as a download's."
                ),
            )
        ],
        responses={200: ShareSerializer, 404: ErrorSerializer},
    )
    def get(self, request: Request, slug: str) -> Response:
        share = find_share(slug)
        show_hashes = may_see_hashes(
            share,
            # None when nobody signed in (UNAUTHENTICATED_USER is None).
            viewer_id=getattr(request.user, "pk", None),
            password=request.headers.get("X-Archive-Password"),
            unlocked=None,
            client=client_ip(request.META),
            now=timezone.now(),
        )
        index_unknown_members(share)
        context = {"request": request, SHOW_HASHES: show_hashes}
        return Response(ShareSerializer(share, context=context).data)


REFUSAL_DETAIL = {
    Outcome.NOT_READY: "The archive is not ready: it is {status}.",
    Outcome.DAMAGED: "The stored archive is damaged and is not served: {integrity_error}",
    Outcome.PASSWORD_REQUIRED: "This archive needs a password: send it in X-Archive-Password.",
    Outcome.WRONG_PASSWORD: "Wrong password.",
    Outcome.THROTTLED: "Too many wrong passwords: try again in {retry_after} seconds.",
    Outcome.EXPIRED: "The archive expired at {expires_at}.",
    Outcome.LIMIT_REACHED: "The download limit of this archive is reached.",
    Outcome.GRANT_USED_UP: (
        "This download's grant has served the archive once and has no bytes left for this "
        "request; a new download counts against the limit."
    ),
}


def _download_responses(media_type: str, what: str, *, missing: str) -> dict[Any, Any]:
    """The responses of a download (the archive's or one of its files'): DESIGN section
    4's refusals, each with its reason."""
    return {
        (200, media_type): OpenApiResponse(
            OpenApiTypes.BINARY, description=f"{what}, as an attachment."
        ),
        (206, media_type): OpenApiResponse(
            OpenApiTypes.BINARY, description="The range asked for (Content-Range)."
        ),
        401: OpenApiResponse(RefusalSerializer, description="A password is required."),
        403: OpenApiResponse(RefusalSerializer, description="Wrong password."),
        404: OpenApiResponse(ErrorSerializer, description=missing),
        409: OpenApiResponse(RefusalSerializer, description="Not built yet, or the build failed."),
        410: OpenApiResponse(
            RefusalSerializer,
            description="Expired (reason expired), its download limit is reached "
            "(limit_reached), or this download's grant has served its byte budget "
            "(grant_used_up).",
        ),
        416: OpenApiResponse(
            None, description="The range starts past the end (Content-Range: bytes */size)."
        ),
        429: OpenApiResponse(
            RefusalSerializer, description="Too many wrong passwords; see Retry-After."
        ),
        503: OpenApiResponse(
            RefusalSerializer,
            description="The stored ZIP cannot be read now, or a prefetch was refused.",
        ),
    }


_DOWNLOAD_HEADERS = [
    OpenApiParameter("X-Archive-Password", str, OpenApiParameter.HEADER),
    OpenApiParameter("X-Download-Grant", str, OpenApiParameter.HEADER),
    OpenApiParameter("Range", str, OpenApiParameter.HEADER),
]


class ShareDownloadView(APIView):
    permission_classes = [AllowAny]
    authentication_classes = []

    @extend_schema(
        parameters=_DOWNLOAD_HEADERS,
        responses=_download_responses("application/zip", "The whole ZIP", missing="No such share."),
        auth=[],
    )
    def get(self, request: Request, slug: str) -> HttpResponseBase:
        share = find_share(slug)
        password = request.headers.get("X-Archive-Password")
        return _delivered(share, deliver_archive(request, share, password=password))


class ShareFileDownloadView(APIView):
    """One file of the archive (DESIGN section 10), under the archive's download rules:
    the first file or archive download counts and opens a grant, which the others of
    the visit go on with."""

    permission_classes = [AllowAny]
    authentication_classes = []

    @extend_schema(
        parameters=_DOWNLOAD_HEADERS,
        responses=_download_responses(
            "application/octet-stream",
            "The file",
            missing="No such share, or no file at this index.",
        ),
        auth=[],
    )
    def get(self, request: Request, slug: str, index: int) -> HttpResponseBase:
        share = find_share(slug)
        member = find_member(share, index)
        password = request.headers.get("X-Archive-Password")
        result = deliver_archive(request, share, password=password, member=member)
        return _delivered(share, result)


def _delivered(
    share: Share, result: HttpResponseBase | Refusal | Prefetch | Unavailable
) -> HttpResponseBase:
    if isinstance(result, Prefetch):
        return Response(
            {
                "detail": "Prefetches and link previews are not served; open the link.",
                "reason": "prefetch",
            },
            status=status.HTTP_503_SERVICE_UNAVAILABLE,
        )
    if isinstance(result, Refusal):
        return _refusal_response(share, result)
    if isinstance(result, Unavailable):
        # Nothing was counted: the stored ZIP could not be opened.
        return Response({"detail": result.detail, "reason": "unavailable"}, status=result.status)
    return result


def _refusal_response(share: Share, refusal: Refusal) -> Response:
    archive = share.archive
    decision = refusal.decision
    expires_at = share.expires_at().isoformat()
    body: dict[str, object] = {
        "detail": REFUSAL_DETAIL[decision.outcome].format(
            status=archive.status,
            retry_after=decision.retry_after,
            expires_at=expires_at,
            integrity_error=archive.integrity_error,
        ),
        "reason": decision.outcome.value,
    }
    if decision.outcome is Outcome.NOT_READY:
        body.update(status=archive.status, progress=archive.progress, error=archive.error)
    elif decision.outcome is Outcome.DAMAGED:
        body["error"] = archive.integrity_error
    elif decision.outcome is Outcome.EXPIRED:
        body["expires_at"] = expires_at
    elif decision.outcome is Outcome.THROTTLED:
        body["retry_after"] = decision.retry_after
    return Response(body, status=refusal.status, headers=refusal_headers(decision))
