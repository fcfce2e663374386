"""Serializer bases shared by the API's apps: input that says exactly what the schema says.

- An unknown field is a 400 naming it, never silently ignored.
- In a JSON body each value must have the JSON type the schema gives it: a number or a
  boolean is no text (``"password": 1234`` is a 400), text is no number, no list stands
  for one value. DRF's fields would turn ``1234`` into ``"1234"`` and ``"5"`` into ``5``.
  Form bodies (multipart) carry text only, which the fields convert as before.
- A length limit applies to what is stored: text that is trimmed (DRF's default) or
  normalised is measured afterwards, so the schema states the limit in the field's
  description instead of a ``maxLength``, which would apply to the text as sent.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.core.validators import BaseValidator, MaxLengthValidator
from django.http import QueryDict
from rest_framework import serializers

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

# The JSON types a field takes, by the field's class (the first that matches).
JSON_TYPES: tuple[tuple[type[serializers.Field], tuple[type, ...], str], ...] = (
    (serializers.BooleanField, (bool,), "Must be true or false."),
    (serializers.IntegerField, (int,), "Must be an integer."),
    (serializers.FloatField, (int, float), "Must be a number."),
    (serializers.CharField, (str,), "Must be a string."),
    (serializers.MultipleChoiceField, (list,), "Must be a list."),
    (serializers.ChoiceField, (str,), "Must be a string."),
    (serializers.DateTimeField, (str,), "Must be a string."),
    (serializers.DateField, (str,), "Must be a string."),
    (serializers.ListField, (list,), "Must be a list."),
    (serializers.DictField, (dict,), "Must be an object."),
    (serializers.Serializer, (dict,), "Must be an object."),
)


def json_type_errors(field: serializers.Field, value: object) -> list[str] | dict[str, Any]:
    """What is wrong with the JSON type of ``value`` given for ``field``: a message in a
    list, a dict of item positions for a list's items, or nothing. ``null`` is left to
    the field (``allow_null``)."""
    if value is None:
        return []
    for field_class, types, message in JSON_TYPES:
        if isinstance(field, field_class):
            # bool is an int in Python, never in JSON.
            if not isinstance(value, types) or (isinstance(value, bool) and bool not in types):
                return [message]
            break
    if isinstance(field, serializers.ListField) and isinstance(value, list):
        return {
            str(position): errors
            for position, item in enumerate(value)
            if (errors := json_type_errors(field.child, item))
        }
    return []


class StoredMaxLengthValidator(BaseValidator):
    """At most ``limit_value`` characters in what is stored: the value as the field hands
    it to its validators (trimmed), through ``normalise`` when the service stores it
    otherwise (a username's canonical form). Not a ``MaxLengthValidator``, so the schema
    shows no ``maxLength`` (which applies to the text as sent)."""

    message = (
        "Ensure this field has no more than %(limit_value)d characters (it has %(show_value)d)."
    )
    code = "max_length"

    def __init__(self, limit_value: int, *, normalise: Callable[[str], str] | None = None) -> None:
        super().__init__(limit_value)
        self.normalise = normalise

    def compare(self, a: int, b: int) -> bool:
        return a > b

    def clean(self, x: str) -> int:
        return len(self.normalise(x) if self.normalise is not None else x)


def stored_length_text(limit: int) -> str:
    return f"At most {limit} characters once trimmed."


def _limit_what_is_stored(field: serializers.Field) -> None:
    """Measure a trimmed text field's ``max_length`` after trimming, and say so in its
    description; the items of a list field likewise."""
    if isinstance(field, serializers.ListField):
        _limit_what_is_stored(field.child)
        return
    if not isinstance(field, serializers.CharField) or not field.trim_whitespace:
        return
    limit = field.max_length
    if limit is None:
        return
    field.validators = [
        StoredMaxLengthValidator(limit) if isinstance(validator, MaxLengthValidator) else validator
        for validator in field.validators
    ]
    note = stored_length_text(limit)
    field.help_text = f"{field.help_text} {note}" if field.help_text else note


class StrictSerializer(serializers.Serializer):
    """The base of every input serializer of the API (see the module's docstring)."""

    def get_fields(self) -> dict[str, serializers.Field]:
        fields = super().get_fields()
        for field in fields.values():
            _limit_what_is_stored(field)
        return fields

    def to_internal_value(self, data: Any) -> Any:
        # A QueryDict is a form body: text only, converted by the fields.
        if not isinstance(data, QueryDict) and isinstance(data, dict):
            _refuse_wrong_json_types(self.fields, data)
        return super().to_internal_value(data)

    def validate(self, attrs: dict) -> dict:
        known = set(self.fields)
        unknown = sorted(set(self.initial_data) - known) if hasattr(self, "initial_data") else []
        if unknown:
            raise serializers.ValidationError(
                {name: ["Unknown field."] for name in unknown}, code="unknown_field"
            )
        return attrs


def _refuse_wrong_json_types(
    fields: Mapping[str, serializers.Field], data: Mapping[str, object]
) -> None:
    errors: dict[str, Any] = {
        name: problems
        for name, field in fields.items()
        if not field.read_only
        and name in data
        and (problems := json_type_errors(field, data[name]))
    }
    if errors:
        raise serializers.ValidationError(errors, code="invalid")


class ErrorSerializer(serializers.Serializer):
    """The body of every error answer (``core.schema.ERROR_SCHEMA`` describes it)."""

    detail = serializers.CharField()
