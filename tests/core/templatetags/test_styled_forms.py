"""The ``styled`` filter: a form the site did not define gets the site's widget classes."""

from __future__ import annotations

from django import forms
from django.template import Context, Template


class ForeignForm(forms.Form):
    code = forms.CharField()
    keep = forms.BooleanField(required=False)


def render(form: ForeignForm, name: str) -> str:
    template = Template("{% load styled_forms %}{{ field|styled }}")
    return template.render(Context({"field": form[name]}))


def test_a_foreign_widget_gets_its_bootstrap_class() -> None:
    form = ForeignForm()

    assert 'class="form-control"' in render(form, "code")
    assert 'class="form-check-input"' in render(form, "keep")


def test_a_foreign_field_with_an_error_is_marked_invalid() -> None:
    form = ForeignForm(data={"code": ""})

    assert not form.is_valid()
    assert 'class="form-control is-invalid"' in render(form, "code")
    assert 'class="form-check-input"' in render(form, "keep")
