"""The share page's password form."""

from __future__ import annotations

from sharing.forms import PasswordForm


def test_the_password_is_kept_as_typed_and_the_field_styled() -> None:
    form = PasswordForm(data={"password": "  spaced  "})

    assert form.is_valid()
    assert form.cleaned_data["password"] == "  spaced  "
    assert form.fields["password"].widget.attrs["class"] == "form-control"


def test_an_empty_password_is_refused_and_marked_invalid() -> None:
    form = PasswordForm(data={"password": ""})

    assert not form.is_valid()
    assert form.fields["password"].widget.attrs["class"] == "form-control is-invalid"
