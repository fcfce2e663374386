"""Shapes of the notifications API: input serializers validate, output ones render."""

from __future__ import annotations

from rest_framework import serializers

from core.serializers import StrictSerializer
from notifications.models import DeliveryAttempt, EmailChoice, Event, Webhook, WebhookDelivery


def _events_field(*, required: bool, allow_empty: bool) -> serializers.ListField:
    return serializers.ListField(
        child=serializers.ChoiceField(choices=Event.values),
        required=required,
        allow_empty=allow_empty,
        max_length=len(Event.values),
        help_text="Events to send: " + ", ".join(Event.values) + ".",
    )


def _url_field(*, required: bool) -> serializers.URLField:
    return serializers.URLField(
        max_length=2000,
        required=required,
        help_text=(
            "http or https URL that receives a JSON POST per event; it must resolve to a "
            "public address unless the server allows private ones."
        ),
    )


class WebhookCreateSerializer(StrictSerializer):
    url = _url_field(required=True)
    events = _events_field(required=True, allow_empty=False)


class WebhookUpdateSerializer(StrictSerializer):
    url = _url_field(required=False)
    events = _events_field(required=False, allow_empty=False)
    is_active = serializers.BooleanField(required=False, help_text="False pauses deliveries.")


class WebhookSerializer(serializers.ModelSerializer):
    events = serializers.ListField(child=serializers.ChoiceField(choices=Event.values))
    secret = serializers.CharField(
        read_only=True,
        help_text=(
            "Key of webhook-signature: v1,<base64 HMAC-SHA256 of "
            "{webhook-id}.{webhook-timestamp}.{body}> (Standard Webhooks; a library takes "
            "it as whsec_<base64 of this key>), and of the older X-Signature: "
            "sha256=<hex HMAC-SHA256 of the body alone>."
        ),
    )

    class Meta:
        model = Webhook
        fields = ["id", "url", "secret", "events", "is_active", "created_at"]


class DeliveryAttemptSerializer(serializers.ModelSerializer):
    class Meta:
        model = DeliveryAttempt
        fields = ["number", "at", "response_status", "error", "duration_ms"]


class DeliverySerializer(serializers.ModelSerializer):
    attempts = DeliveryAttemptSerializer(many=True, read_only=True)
    payload = serializers.DictField(help_text="The JSON body sent, signed in webhook-signature.")

    class Meta:
        model = WebhookDelivery
        fields = [
            "id",
            "event",
            "archive_id",
            "payload",
            "attempt",
            "status",
            "response_status",
            "error",
            "created_at",
            "delivered_at",
            "attempts",
        ]


class EmailChoiceSerializer(serializers.ModelSerializer):
    # CharField, not EmailField: the address may be empty.
    email = serializers.CharField(
        source="user.email", help_text="The account's address; empty sends nothing."
    )
    events = serializers.ListField(child=serializers.ChoiceField(choices=Event.values))

    class Meta:
        model = EmailChoice
        fields = ["email", "events"]


class EmailChoiceUpdateSerializer(StrictSerializer):
    email = serializers.EmailField(
        required=False, allow_blank=True, max_length=254, help_text="Empty sends nothing."
    )
    events = _events_field(required=False, allow_empty=True)
