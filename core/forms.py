"""What every form of the pages shares."""

from __future__ import annotations

from django import forms


class StyledFormMixin(forms.Form):
    """Gives every widget its Bootstrap class, and ``is-invalid`` once it has an error.

    Django itself adds ``aria-invalid`` and ``aria-describedby`` (help text and errors).
    """

    def style_widgets(self) -> None:
        for field in self.fields.values():
            widget = field.widget
            if isinstance(widget, forms.CheckboxInput):
                css = "form-check-input"
            elif isinstance(widget, forms.Select):
                css = "form-select"
            else:
                css = "form-control"
            widget.attrs["class"] = css

    def full_clean(self) -> None:
        super().full_clean()
        for name in self.errors:
            if name in self.fields:
                widget = self.fields[name].widget
                widget.attrs["class"] = f"{widget.attrs.get('class', '')} is-invalid".strip()
