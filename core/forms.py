"""What every form of the pages shares."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _


def widget_class(widget: forms.Widget) -> str:
    """Bootstrap's class for a widget of this kind."""
    if isinstance(widget, forms.CheckboxInput):
        return "form-check-input"
    if isinstance(widget, forms.Select):
        return "form-select"
    return "form-control"


class StyledFormMixin(forms.Form):
    """Gives every widget its Bootstrap class, and ``is-invalid`` once it has an error.

    Django itself adds ``aria-invalid`` and ``aria-describedby`` (help text and errors).
    """

    def style_widgets(self) -> None:
        for field in self.fields.values():
            field.widget.attrs["class"] = widget_class(field.widget)

    def full_clean(self) -> None:
        super().full_clean()
        for name in self.errors:
            if name in self.fields:
                widget = self.fields[name].widget
                widget.attrs["class"] = f"{widget.attrs.get('class', '')} is-invalid".strip()


def new_password_field(label: Any, help_text: Any) -> forms.CharField:
    """An optional password chosen by an owner (never stripped: spaces count)."""
    return forms.CharField(
        label=label,
        max_length=128,
        required=False,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=help_text,
    )


class PasswordForm(StyledFormMixin):
    """The password a visitor types to open a share or an upload request."""

    password = forms.CharField(
        label=_("Password"),
        max_length=128,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.style_widgets()
