"""StrictSerializer: an unknown field is a 400 naming it, never silently ignored."""

from __future__ import annotations

from rest_framework import serializers

from core.serializers import StrictSerializer


class NameSerializer(StrictSerializer):
    name = serializers.CharField()


def test_known_fields_pass() -> None:
    checked = NameSerializer(data={"name": "Trip"})

    assert checked.is_valid(), checked.errors
    assert checked.validated_data == {"name": "Trip"}


def test_each_unknown_field_is_named() -> None:
    checked = NameSerializer(data={"name": "Trip", "nmae": "typo", "extra": 1})

    assert not checked.is_valid()
    assert checked.errors == {"extra": ["Unknown field."], "nmae": ["Unknown field."]}
    assert checked.errors["nmae"][0].code == "unknown_field"


def test_a_serializer_without_data_validates_its_attributes_only() -> None:
    # No initial data (a serializer built to validate attributes directly): nothing to refuse.
    assert NameSerializer().validate({"name": "Trip"}) == {"name": "Trip"}
