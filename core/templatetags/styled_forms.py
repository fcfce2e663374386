"""The look of forms the site does not define (django-allauth's, on its pages)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django import template

from core.forms import widget_class

if TYPE_CHECKING:
    from django.forms import BoundField
    from django.utils.safestring import SafeString

register = template.Library()


@register.filter
def styled(field: BoundField) -> SafeString:
    """The field's widget with the class ``StyledFormMixin`` would give it."""
    css = widget_class(field.field.widget)
    if field.errors:
        css += " is-invalid"
    return field.as_widget(attrs={"class": css})
