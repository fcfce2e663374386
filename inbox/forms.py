"""The forms of the upload request pages: the owner's new request, and what a sender
sends."""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from archives.forms import MultipleFileField
from core.forms import StyledFormMixin, new_password_field

DAY = 86400
MIB = 1024 * 1024


def _count(label: Any, maximum: int, help_text: Any) -> forms.IntegerField:
    return forms.IntegerField(
        label=label, required=False, min_value=1, max_value=maximum, help_text=help_text
    )


class RequestForm(StyledFormMixin):
    """A new upload request, as the owner fills it in on the requests page."""

    name = forms.CharField(label=_("Name"), max_length=200)
    message = forms.CharField(
        label=_("Message to senders"),
        max_length=10_000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    password = new_password_field(_("Password"), _("Optional: senders must enter it."))
    days = forms.IntegerField(
        label=_("Open for (days)"),
        min_value=1,
        max_value=settings.ARCHIVE_MAX_TTL // DAY,
        initial=7,
    )
    max_submissions = _count(_("Submissions"), 1_000_000, _("Leave empty for no limit."))
    max_files = _count(
        _("Files per submission"), settings.ARCHIVE_MAX_FILES, _("Leave empty for no limit.")
    )
    max_megabytes = _count(
        _("MiB per submission"),
        max(settings.ARCHIVE_MAX_BYTES // MIB, 1),
        _("Leave empty for no limit."),
    )
    archive_days = forms.IntegerField(
        label=_("Each archive lives (days)"),
        required=False,
        min_value=1,
        max_value=settings.ARCHIVE_MAX_TTL // DAY,
        help_text=_("Leave empty for the default lifetime."),
    )
    archive_max_downloads = _count(
        _("Download limit of each archive"),
        settings.ARCHIVE_MAX_DOWNLOADS,
        _("Leave empty for no limit."),
    )
    archive_password = new_password_field(
        _("Password of each archive"), _("Optional: what you receive is shared behind it.")
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.style_widgets()

    def request_arguments(self) -> dict[str, Any]:
        """The keyword arguments of ``create_request`` (``now`` aside)."""
        data = self.cleaned_data
        megabytes = data.get("max_megabytes")
        archive_days = data.get("archive_days")
        return {
            "name": data["name"],
            "message": data["message"],
            "password": data["password"],
            "expires_at": None,
            "ttl": data["days"] * DAY,
            "max_submissions": data.get("max_submissions"),
            "max_files": data.get("max_files"),
            "max_bytes": megabytes * MIB if megabytes else None,
            "archive_ttl": archive_days * DAY if archive_days else None,
            "archive_max_downloads": data.get("archive_max_downloads"),
            "archive_password": data["archive_password"],
        }


class SendForm(StyledFormMixin):
    """What a sender sends: files, and optionally a name, an address and a note."""

    files = MultipleFileField(label=_("Files"))
    sender_name = forms.CharField(label=_("Your name"), max_length=200, required=False)
    sender_email = forms.EmailField(label=_("Your e-mail"), required=False)
    note = forms.CharField(
        label=_("Note"),
        max_length=10_000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.style_widgets()
