"""Forms of the owner's archive pages: upload (the fallback without JavaScript), edit,
recipient links."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from archives.names import BadArchiveName, clean_archive_name
from archives.services import default_ttl
from core.forms import StyledFormMixin, new_password_field

if TYPE_CHECKING:
    from django.core.files.uploadedfile import UploadedFile
    from django.utils.functional import _StrPromise

    from archives.models import Archive, Link

HOUR = 3600
DAY = 24 * HOUR
CUSTOM = "custom"
KEEP = "keep"
LIFETIME_CHOICES: list[tuple[str, _StrPromise]] = [
    (str(HOUR), _("1 hour")),
    (str(DAY), _("1 day")),
    (str(7 * DAY), _("7 days")),
    (str(30 * DAY), _("30 days")),
    (CUSTOM, _("Custom…")),
]
UNIT_CHOICES: list[tuple[str, _StrPromise]] = [
    (str(60), _("minutes")),
    (str(HOUR), _("hours")),
    (str(DAY), _("days")),
]


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Several files under one name (Django's documented recipe)."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("widget", MultipleFileInput())
        super().__init__(**kwargs)

    def clean(self, data: Any, initial: Any = None) -> list[UploadedFile]:
        single = super().clean
        if isinstance(data, list | tuple) and data:
            return [single(item, initial) for item in data]
        return [single(data or None, initial)]


class LifetimeFields(forms.Form):
    """A lifetime from a list, or a custom number of minutes, hours or days."""

    lifetime_choices: ClassVar[list[tuple[str, _StrPromise]]] = LIFETIME_CHOICES

    lifetime = forms.ChoiceField(label=_("Lifetime"), choices=LIFETIME_CHOICES)
    custom_lifetime = forms.IntegerField(
        label=_("Custom lifetime"), required=False, min_value=1, max_value=100_000
    )
    custom_unit = forms.ChoiceField(
        label=_("Unit"), choices=UNIT_CHOICES, initial=str(DAY), required=False
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        lifetime = self.fields["lifetime"]
        assert isinstance(lifetime, forms.ChoiceField)
        lifetime.choices = self.lifetime_choices

    def preselect_lifetime(self, seconds: int) -> None:
        """Show ``seconds`` as the chosen lifetime: its entry of the list, or else a custom
        lifetime in the largest unit that divides it (minutes, rounded, when none does)."""
        lifetime = self.fields["lifetime"]
        if str(seconds) in {value for value, _ in self.lifetime_choices}:
            lifetime.initial = str(seconds)
            return
        unit = next((unit for unit in (DAY, HOUR, 60) if seconds % unit == 0), 60)
        lifetime.initial = CUSTOM
        self.fields["custom_lifetime"].initial = max(round(seconds / unit), 1)
        self.fields["custom_unit"].initial = str(unit)

    def lifetime_seconds(self) -> int | None:
        """The lifetime chosen, in seconds; None when the form keeps the current one."""
        data = self.cleaned_data
        choice = data.get("lifetime")
        if choice == KEEP:
            return None
        if choice == CUSTOM:
            return int(data["custom_lifetime"]) * int(data.get("custom_unit") or DAY)
        return int(choice or 0)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("lifetime") == CUSTOM and not data.get("custom_lifetime"):
            self.add_error("custom_lifetime", _("Enter the custom lifetime, or pick one above."))
            return data
        if "lifetime" not in data or self.errors.get("custom_lifetime"):
            return data
        seconds = self.lifetime_seconds()
        if seconds is not None and seconds < 60:
            self.add_error("custom_lifetime", _("The lifetime must be at least one minute."))
        elif seconds is not None and seconds > settings.ARCHIVE_MAX_TTL:
            days = settings.ARCHIVE_MAX_TTL // DAY
            self.add_error(
                "custom_lifetime",
                ngettext(
                    "The lifetime can be at most %(days)d day.",
                    "The lifetime can be at most %(days)d days.",
                    days,
                )
                % {"days": days},
            )
        return data


def _limit_field() -> forms.IntegerField:
    return forms.IntegerField(
        label=_("Download limit"),
        required=False,
        min_value=1,
        max_value=settings.ARCHIVE_MAX_DOWNLOADS,
        help_text=_("Leave empty for no limit."),
    )


def _checked_name(name: str) -> str:
    """The archive name through the one rule of archives.names, as a form error."""
    try:
        return clean_archive_name(name)
    except BadArchiveName as exc:
        raise forms.ValidationError(
            _("Give the archive a name with at least one letter or digit.")
        ) from exc


class UploadForm(StyledFormMixin, LifetimeFields):
    uploads = MultipleFileField(label=_("Files"))
    name = forms.CharField(
        label=_("Name"),
        max_length=200,
        required=False,
        help_text=_("Shown on the share page; the first file's name when empty."),
    )
    description = forms.CharField(
        label=_("Description"),
        max_length=10_000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    password = new_password_field(_("Password"), _("Optional: whoever downloads must enter it."))
    max_downloads = _limit_field()

    field_order = [
        "uploads",
        "name",
        "description",
        "password",
        "lifetime",
        "custom_lifetime",
        "custom_unit",
        "max_downloads",
    ]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.preselect_lifetime(default_ttl())
        self.style_widgets()

    def clean_name(self) -> str:
        name = self.cleaned_data["name"]
        return _checked_name(name) if name else ""


class PasswordChangeFields(forms.Form):
    """Set a new password or remove the current one (an archive's or a link's)."""

    new_password = new_password_field(
        _("New password"), _("Leave empty to keep the current password.")
    )
    remove_password = forms.BooleanField(label=_("Remove the password"), required=False)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("new_password") and data.get("remove_password"):
            self.add_error("new_password", _("Either set a new password or remove it, not both."))
        return data

    def password_change(self) -> dict[str, str]:
        """``{"password": ...}`` as the update services take it ("" removes it), or
        ``{}`` when the password stays."""
        if self.cleaned_data.get("remove_password"):
            return {"password": ""}
        if self.cleaned_data.get("new_password"):
            return {"password": self.cleaned_data["new_password"]}
        return {}


class EditForm(StyledFormMixin, PasswordChangeFields, LifetimeFields):
    lifetime_choices: ClassVar[list[tuple[str, _StrPromise]]] = [
        (KEEP, _("Keep the current expiry")),
        *LIFETIME_CHOICES,
    ]

    name = forms.CharField(label=_("Name"), max_length=200)
    description = forms.CharField(
        label=_("Description"),
        max_length=10_000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    max_downloads = _limit_field()

    field_order = [
        "name",
        "description",
        "new_password",
        "remove_password",
        "lifetime",
        "custom_lifetime",
        "custom_unit",
        "max_downloads",
    ]

    def __init__(self, *args: Any, archive: Archive, **kwargs: Any) -> None:
        kwargs.setdefault(
            "initial",
            {
                "name": archive.name,
                "description": archive.description,
                "max_downloads": archive.max_downloads,
                "lifetime": KEEP,
            },
        )
        super().__init__(*args, **kwargs)
        self.fields["lifetime"].label = _("Expires")
        self.fields["lifetime"].help_text = _("A new lifetime counts from now.")
        self.style_widgets()

    def clean_name(self) -> str:
        return _checked_name(self.cleaned_data["name"])

    def changes(self) -> dict[str, Any]:
        """The keyword arguments of ``update_archive`` for what the owner changed."""
        data = self.cleaned_data
        changes: dict[str, Any] = {
            "name": data["name"],
            "description": data["description"],
            "max_downloads": data.get("max_downloads"),
        }
        changes.update(self.password_change())
        ttl = self.lifetime_seconds()
        if ttl is not None:
            changes["ttl"] = ttl
        return changes


ARCHIVE_OWN = "archive"


class LinkLifetimeMixin(LifetimeFields):
    """A link's lifetime: one of the usual ones, or none of its own (the archive's)."""

    def lifetime_seconds(self) -> int | None:
        if self.cleaned_data.get("lifetime") == ARCHIVE_OWN:
            return None
        return super().lifetime_seconds()


def _link_label_field() -> forms.CharField:
    return forms.CharField(
        label=_("Label"),
        max_length=100,
        help_text=_("Who the link is for; only you see it."),
    )


class LinkForm(StyledFormMixin, LinkLifetimeMixin):
    """A new recipient link."""

    lifetime_choices: ClassVar[list[tuple[str, _StrPromise]]] = [
        (ARCHIVE_OWN, _("Same as the archive")),
        *LIFETIME_CHOICES,
    ]

    label = _link_label_field()
    password = new_password_field(_("Password"), _("Optional: this recipient must enter it."))
    max_downloads = _limit_field()

    field_order = [
        "label",
        "password",
        "lifetime",
        "custom_lifetime",
        "custom_unit",
        "max_downloads",
    ]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["lifetime"].initial = ARCHIVE_OWN
        self.fields["lifetime"].help_text = _("The archive's own expiry applies in any case.")
        self.style_widgets()

    def link_arguments(self) -> dict[str, Any]:
        """The keyword arguments of ``create_link`` (``now`` aside)."""
        data = self.cleaned_data
        return {
            "label": data["label"],
            "password": data["password"],
            "max_downloads": data.get("max_downloads"),
            "ttl": self.lifetime_seconds(),
        }


class LinkEditForm(StyledFormMixin, PasswordChangeFields, LinkLifetimeMixin):
    """Changes to a recipient link."""

    lifetime_choices: ClassVar[list[tuple[str, _StrPromise]]] = [
        (KEEP, _("Keep the current expiry")),
        (ARCHIVE_OWN, _("Same as the archive")),
        *LIFETIME_CHOICES,
    ]

    label = _link_label_field()
    max_downloads = _limit_field()

    field_order = [
        "label",
        "new_password",
        "remove_password",
        "lifetime",
        "custom_lifetime",
        "custom_unit",
        "max_downloads",
    ]

    def __init__(self, *args: Any, link: Link, **kwargs: Any) -> None:
        kwargs.setdefault(
            "initial",
            {"label": link.label, "max_downloads": link.max_downloads, "lifetime": KEEP},
        )
        super().__init__(*args, **kwargs)
        self.fields["lifetime"].label = _("Expires")
        self.fields["lifetime"].help_text = _("A new lifetime counts from now.")
        self.style_widgets()

    def changes(self) -> dict[str, Any]:
        """The keyword arguments of ``update_link`` for what the owner changed."""
        data = self.cleaned_data
        changes: dict[str, Any] = {
            "label": data["label"],
            "max_downloads": data.get("max_downloads"),
        }
        changes.update(self.password_change())
        if data.get("lifetime") != KEEP:
            changes["ttl"] = self.lifetime_seconds()
        return changes
