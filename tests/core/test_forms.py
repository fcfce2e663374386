"""StyledFormMixin: Bootstrap's class for each kind of widget, ``is-invalid`` on errors."""

from __future__ import annotations

from typing import Any

from django import forms

from core.forms import PasswordForm, StyledFormMixin


class SampleForm(StyledFormMixin):
    name = forms.CharField()
    kind = forms.ChoiceField(choices=[("a", "A"), ("b", "B")])
    agree = forms.BooleanField(required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.style_widgets()


def css(form: SampleForm, name: str) -> str:
    return form.fields[name].widget.attrs["class"]


def test_each_widget_gets_its_bootstrap_class() -> None:
    form = SampleForm()

    assert css(form, "name") == "form-control"
    assert css(form, "kind") == "form-select"
    assert css(form, "agree") == "form-check-input"


def test_fields_with_errors_are_marked_invalid_and_the_others_not() -> None:
    form = SampleForm(data={"name": "", "kind": "zzz"})

    assert not form.is_valid()
    assert css(form, "name") == "form-control is-invalid"
    assert css(form, "kind") == "form-select is-invalid"
    assert css(form, "agree") == "form-check-input"


def test_a_form_wide_error_marks_no_field() -> None:
    form = SampleForm(data={"name": "x", "kind": "a"})
    form.full_clean()
    form.add_error(None, "Something is off.")
    form.full_clean()

    assert css(form, "name") == "form-control"


def test_the_visitor_password_is_kept_as_typed_and_the_field_styled() -> None:
    form = PasswordForm(data={"password": "  spaced  "})

    assert form.is_valid()
    assert form.cleaned_data["password"] == "  spaced  "
    assert form.fields["password"].widget.attrs["class"] == "form-control"


def test_an_empty_visitor_password_is_refused_and_marked_invalid() -> None:
    form = PasswordForm(data={"password": ""})

    assert not form.is_valid()
    assert form.fields["password"].widget.attrs["class"] == "form-control is-invalid"
