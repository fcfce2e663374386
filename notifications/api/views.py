from __future__ import annotations

from typing import TYPE_CHECKING

from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.api.auth import authenticated_user
from accounts.scopes import WEBHOOKS
from notifications.api.serializers import (
    DeliverySerializer,
    EmailChoiceSerializer,
    EmailChoiceUpdateSerializer,
    WebhookCreateSerializer,
    WebhookSerializer,
    WebhookUpdateSerializer,
)
from notifications.models import Webhook
from notifications.services import (
    TooManyWebhooks,
    create_webhook,
    delete_webhook,
    get_email_choice,
    get_owned_webhook,
    send_test,
    update_email_choice,
    update_webhook,
)
from notifications.targets import TargetRefused

if TYPE_CHECKING:
    from django.db.models import QuerySet
    from rest_framework.request import Request


class WebhookViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    serializer_class = WebhookSerializer
    required_scopes = WEBHOOKS
    # For the schema only (the id's type); get_queryset scopes every request to its user.
    queryset = Webhook.objects.none()
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def get_queryset(self) -> QuerySet[Webhook]:
        return Webhook.objects.filter(owner=authenticated_user(self.request))

    def get_object(self) -> Webhook:
        return get_owned_webhook(authenticated_user(self.request), self.kwargs["pk"])

    @extend_schema(request=WebhookCreateSerializer, responses={201: WebhookSerializer})
    def create(self, request: Request) -> Response:
        serializer = WebhookCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            webhook = create_webhook(
                authenticated_user(request), now=timezone.now(), **serializer.validated_data
            )
        except TargetRefused as exc:
            raise ValidationError({"url": [str(exc)]}) from exc
        except TooManyWebhooks as exc:
            raise ValidationError({"detail": str(exc)}) from exc
        return Response(WebhookSerializer(webhook).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=WebhookUpdateSerializer)
    def partial_update(self, request: Request, pk: str) -> Response:
        webhook = self.get_object()
        serializer = WebhookUpdateSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        try:
            webhook = update_webhook(webhook, **serializer.validated_data)
        except TargetRefused as exc:
            raise ValidationError({"url": [str(exc)]}) from exc
        return Response(WebhookSerializer(webhook).data)

    @extend_schema(responses={204: None})
    def destroy(self, request: Request, pk: str) -> Response:
        delete_webhook(self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(responses=DeliverySerializer(many=True))
    @action(detail=True, methods=["get"])
    def deliveries(self, request: Request, pk: str) -> Response:
        webhook = self.get_object()
        page = self.paginate_queryset(webhook.deliveries.prefetch_related("attempts"))
        return self.get_paginated_response(DeliverySerializer(page, many=True).data)

    @extend_schema(request=None, responses={202: DeliverySerializer})
    @action(detail=True, methods=["post"])
    def test(self, request: Request, pk: str) -> Response:
        delivery = send_test(self.get_object(), now=timezone.now())
        return Response(DeliverySerializer(delivery).data, status=status.HTTP_202_ACCEPTED)


class EmailChoiceView(APIView):
    required_scopes = WEBHOOKS

    @extend_schema(responses=EmailChoiceSerializer)
    def get(self, request: Request) -> Response:
        choice = get_email_choice(authenticated_user(request))
        return Response(EmailChoiceSerializer(choice).data)

    @extend_schema(request=EmailChoiceUpdateSerializer, responses=EmailChoiceSerializer)
    def patch(self, request: Request) -> Response:
        serializer = EmailChoiceUpdateSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        choice = update_email_choice(authenticated_user(request), **serializer.validated_data)
        return Response(EmailChoiceSerializer(choice).data)
