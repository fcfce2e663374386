"""The notification e-mail: sent only to an address for a chosen event, one subject per
event, the share page and the count in its text."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

import pytest

from archives.events import archive_payload
from notifications.mail import send_notification_email
from notifications.models import EmailChoice, Event
from notifications.services import update_email_choice
from notifications.tasks import send_notification_email_task

if TYPE_CHECKING:
    from collections.abc import Callable

    from django.core.mail import EmailMessage

    from accounts.models import User
    from archives.models import Archive
    from notifications.models import ArchivePayload

pytestmark = pytest.mark.django_db
NOW = datetime(2025, 5, 1, 12, 0, tzinfo=UTC)
PAYLOAD: ArchivePayload = {
    "id": "a1",
    "slug": "s1",
    "name": "Trip",
    "status": "ready",
    "size": 10,
    "sha256": "",
    "download_count": 4,
    "max_downloads": None,
    "expires_at": NOW.isoformat(),
    "share_url": "https://share.example.org/s/s1/",
}


def test_the_e_mail_task_sends_nothing_once_the_event_is_unchosen(
    user: User, make_archive: Callable[..., Archive], mailoutbox: list[EmailMessage]
) -> None:
    archive = make_archive()
    update_email_choice(user, events=[], email="me@example.org")

    sent = send_notification_email_task.apply(
        args=(user.pk, Event.READY, archive_payload(archive, now=NOW))
    ).get()

    assert sent is False
    assert mailoutbox == []


@pytest.mark.parametrize(
    ("event", "subject"),
    [
        (Event.READY, "“Trip” is ready to share"),
        (Event.FAILED, "The build of “Trip” failed"),
        (Event.DOWNLOADED, "“Trip” was downloaded"),
        (Event.LIMIT_REACHED, "“Trip” reached its download limit"),
        (Event.EXPIRED, "“Trip” expired"),
        (Event.SUBMITTED, "Files received: “Trip”"),
    ],
)
def test_each_event_has_its_subject_and_the_text_links_the_share(
    user: User, mailoutbox: list[EmailMessage], event: Event, subject: str
) -> None:
    EmailChoice.objects.create(user=user, events=[event.value])
    user.email = "me@example.org"
    user.save(update_fields=["email"])

    assert send_notification_email(user.pk, event=event.value, archive=PAYLOAD) is True

    [mail] = mailoutbox
    assert mail.subject == f"[Awaiting-death] {subject}"
    assert mail.to == ["me@example.org"]
    assert mail.body.startswith(f"{subject}.\n")
    assert "Share page: https://share.example.org/s/s1/" in mail.body
    assert "Downloads: 4" in mail.body


def test_nothing_is_sent_without_an_address_a_choice_or_a_user(
    user: User, other_user: User, mailoutbox: list[EmailMessage]
) -> None:
    EmailChoice.objects.create(user=user, events=[Event.READY.value])

    assert send_notification_email(user.pk, event=Event.READY.value, archive=PAYLOAD) is False
    assert send_notification_email(other_user.pk, event=Event.READY.value, archive=PAYLOAD) is False
    assert send_notification_email("gone", event=Event.READY.value, archive=PAYLOAD) is False
    assert mailoutbox == []
