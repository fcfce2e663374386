"""StrictSerializer: an unknown field is a 400 naming it, never silently ignored; a JSON
value of another type is refused; limits are measured on what is stored."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.core.validators import MaxLengthValidator
from django.http import QueryDict
from rest_framework import serializers

from core.serializers import StoredMaxLengthValidator, StrictSerializer, stored_length_text


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


class ShapesSerializer(StrictSerializer):
    text = serializers.CharField(required=False, max_length=5)
    secret = serializers.CharField(required=False, max_length=5, trim_whitespace=False)
    count = serializers.IntegerField(required=False, allow_null=True)
    flag = serializers.BooleanField(required=False)
    ids = serializers.ListField(child=serializers.CharField(), required=False)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("secret", 1234, "Must be a string."),
        ("text", True, "Must be a string."),
        ("text", ["a"], "Must be a string."),
        ("count", "5", "Must be an integer."),
        ("count", True, "Must be an integer."),
        ("count", 5.0, "Must be an integer."),
        ("flag", "true", "Must be true or false."),
        ("flag", 1, "Must be true or false."),
        ("ids", "a", "Must be a list."),
    ],
)
def test_a_json_value_of_another_type_is_refused(field: str, value: object, message: str) -> None:
    checked = ShapesSerializer(data={field: value})

    assert not checked.is_valid()
    assert checked.errors == {field: [message]}


def test_list_items_of_another_type_are_named_by_position() -> None:
    checked = ShapesSerializer(data={"ids": ["a", 2, "c", False]})

    assert not checked.is_valid()
    assert checked.errors["ids"] == {"1": ["Must be a string."], "3": ["Must be a string."]}


def test_null_is_left_to_the_field() -> None:
    assert ShapesSerializer(data={"count": None}).is_valid()
    assert not ShapesSerializer(data={"flag": None}).is_valid()


def test_form_bodies_are_text_converted_by_the_fields() -> None:
    form = QueryDict(mutable=True)
    form.update({"count": "5", "flag": "true", "secret": "1234"})
    checked = ShapesSerializer(data=form)

    assert checked.is_valid(), checked.errors
    assert checked.validated_data == {"count": 5, "flag": True, "secret": "1234"}


def test_a_trimmed_field_is_measured_as_stored() -> None:
    padded = ShapesSerializer(data={"text": "  abcde  "})
    long = ShapesSerializer(data={"text": "abcdef"})

    assert padded.is_valid(), padded.errors
    assert padded.validated_data == {"text": "abcde"}
    assert not long.is_valid()
    assert long.errors["text"][0].code == "max_length"


def test_an_untrimmed_field_is_measured_as_sent() -> None:
    assert ShapesSerializer(data={"secret": " abcd"}).is_valid()
    assert not ShapesSerializer(data={"secret": " abcde"}).is_valid()


def test_the_schema_states_the_stored_limit_instead_of_max_length() -> None:
    fields = ShapesSerializer().fields

    assert fields["text"].help_text == stored_length_text(5)
    assert not any(isinstance(v, MaxLengthValidator) for v in fields["text"].validators)
    assert any(isinstance(v, MaxLengthValidator) for v in fields["secret"].validators)


def test_stored_max_length_measures_the_normalised_value() -> None:
    validator = StoredMaxLengthValidator(3, normalise=str.upper)
    validator("abc")

    with pytest.raises(ValidationError):
        StoredMaxLengthValidator(3, normalise=lambda text: text * 2)("ab")
