"""Forms of the notifications page: a new webhook, the e-mail choices."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from notifications.models import Event


def _events_field(*, required: bool) -> forms.MultipleChoiceField:
    return forms.MultipleChoiceField(
        label=_("Events"),
        choices=Event.choices,
        required=required,
        widget=forms.CheckboxSelectMultiple,
    )


class WebhookForm(forms.Form):
    # Both forms share a page and an "events" field: distinct ids keep labels apart.
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("auto_id", "webhook_%s")
        super().__init__(*args, **kwargs)

    url = forms.URLField(
        label=_("URL"),
        max_length=2000,
        assume_scheme="https",
        help_text=_("Receives a signed JSON POST for each chosen event."),
        widget=forms.URLInput(attrs={"class": "form-control", "placeholder": "https://"}),
    )
    events = _events_field(required=True)


class EmailChoiceForm(forms.Form):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("auto_id", "mail_%s")
        super().__init__(*args, **kwargs)

    email = forms.EmailField(
        label=_("E-mail address"),
        required=False,
        max_length=254,
        help_text=_("The address of your account; leave empty to receive no e-mails."),
        widget=forms.EmailInput(attrs={"class": "form-control", "autocomplete": "email"}),
    )
    events = _events_field(required=False)
