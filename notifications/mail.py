"""The notification e-mail: one short text message per event, to the owner's address."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.conf import settings
from django.core.mail import send_mail
from django.utils import translation
from django.utils.translation import gettext as _

from accounts.models import User
from notifications.models import EmailChoice, Event

if TYPE_CHECKING:
    from notifications.models import ArchivePayload


def _subject(event: str, name: str) -> str:
    subjects = {
        Event.READY: _("“%(name)s” is ready to share"),
        Event.FAILED: _("The build of “%(name)s” failed"),
        Event.DOWNLOADED: _("“%(name)s” was downloaded"),
        Event.LIMIT_REACHED: _("“%(name)s” reached its download limit"),
        Event.EXPIRED: _("“%(name)s” expired"),
        Event.SUBMITTED: _("Files received: “%(name)s”"),
    }
    return subjects[Event(event)] % {"name": name}


def send_notification_email(user_id: str, *, event: str, archive: ArchivePayload) -> bool:
    """Mail ``event`` about ``archive`` (as it was when the event happened) to the user's
    address. Returns False, sending nothing, when the user is gone, has no address, or no
    longer chose ``event``; raises what the mail backend raises when sending fails."""
    user = User.objects.filter(pk=user_id).first()
    choice = EmailChoice.objects.filter(user_id=user_id).first()
    if user is None or choice is None or not user.email:
        return False
    if event not in choice.events:
        return False
    with translation.override(settings.LANGUAGE_CODE):
        subject = _subject(event, archive["name"])
        lines = [
            subject + ".",
            "",
            _("Share page: %(url)s") % {"url": archive["share_url"]},
            _("Downloads: %(count)s") % {"count": archive["download_count"]},
            "",
            _("You get this e-mail because you chose it on the notifications page."),
        ]
    send_mail(
        f"[Awaiting-death] {subject}",
        "\n".join(lines),
        settings.NOTIFY_FROM_EMAIL,
        [user.email],
    )
    return True
