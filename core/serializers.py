"""Serializer bases shared by the API's apps."""

from __future__ import annotations

from rest_framework import serializers


class StrictSerializer(serializers.Serializer):
    """Refuses fields it does not know, so a typo is a 400 and not silently ignored."""

    def validate(self, attrs: dict) -> dict:
        known = set(self.fields)
        unknown = sorted(set(self.initial_data) - known) if hasattr(self, "initial_data") else []
        if unknown:
            raise serializers.ValidationError(
                {name: ["Unknown field."] for name in unknown}, code="unknown_field"
            )
        return attrs
