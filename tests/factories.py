"""One factory per model of the project's apps (tests/test_factories.py checks that none is
missing). Times are the moment the factory runs; pass others where a test needs them."""

from __future__ import annotations

import datetime as dt

import factory
from django.utils import timezone
from factory.django import DjangoModelFactory

from accounts.keys import KEY_PREFIX, VISIBLE_CHARS, hash_key
from accounts.models import ApiKey, User
from accounts.scopes import Scope
from archives.models import Archive, ArchiveFile, AuditEntry, Download, Link, Status
from core.models import FailureWindow
from inbox.models import Submission, UploadRequest
from notifications.models import DeliveryAttempt, EmailChoice, Event, Webhook, WebhookDelivery
from resumable.models import ResumableUpload

DAY = dt.timedelta(days=1)


class UserFactory(DjangoModelFactory[User]):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    password = factory.django.Password("correct horse battery staple")


class ApiKeyFactory(DjangoModelFactory[ApiKey]):
    """A live key with every archives scope; its key is ``"adk_test-" + name`` (hashed)."""

    class Meta:
        model = ApiKey

    user = factory.SubFactory(UserFactory)
    name = factory.Sequence(lambda n: f"key{n}")
    scopes = factory.LazyFunction(lambda: [Scope.ARCHIVES_READ, Scope.ARCHIVES_WRITE])
    prefix = factory.LazyAttribute(lambda key: f"{KEY_PREFIX}test-{key.name}"[:VISIBLE_CHARS])
    key_hash = factory.LazyAttribute(lambda key: hash_key(f"{KEY_PREFIX}test-{key.name}"))
    created_at = factory.LazyFunction(timezone.now)


class FailureWindowFactory(DjangoModelFactory[FailureWindow]):
    class Meta:
        model = FailureWindow

    scope = "login-ip"
    key = factory.Sequence(lambda n: f"192.0.2.{n % 250}-{n}")
    window_start = factory.LazyFunction(timezone.now)
    failures = 1


class ArchiveFactory(DjangoModelFactory[Archive]):
    """A pending archive of one owner, a week to live, no password and no limit."""

    class Meta:
        model = Archive

    owner = factory.SubFactory(UserFactory)
    name = factory.Sequence(lambda n: f"archive {n}")
    status = Status.PENDING
    created_at = factory.LazyFunction(timezone.now)
    expires_at = factory.LazyAttribute(lambda archive: archive.created_at + 7 * DAY)


class ArchiveFileFactory(DjangoModelFactory[ArchiveFile]):
    class Meta:
        model = ArchiveFile

    archive = factory.SubFactory(ArchiveFactory)
    position = factory.Sequence(lambda n: n)
    name = factory.Sequence(lambda n: f"file-{n}.txt")
    original_name = factory.SelfAttribute("name")
    size = 0


class LinkFactory(DjangoModelFactory[Link]):
    class Meta:
        model = Link

    archive = factory.SubFactory(ArchiveFactory)
    label = factory.Sequence(lambda n: f"recipient {n}")
    created_at = factory.LazyFunction(timezone.now)


class DownloadFactory(DjangoModelFactory[Download]):
    class Meta:
        model = Download

    archive = factory.SubFactory(ArchiveFactory)
    at = factory.LazyFunction(timezone.now)
    ip = "192.0.2.1"
    user_agent = "factory"


class AuditEntryFactory(DjangoModelFactory[AuditEntry]):
    class Meta:
        model = AuditEntry

    archive_id = factory.Sequence(lambda n: f"archive{n}")
    archive_name = "an archive"
    actor = factory.SubFactory(UserFactory)
    at = factory.LazyFunction(timezone.now)
    action = "update"
    field = "name"
    old = "before"
    new = "after"


class WebhookFactory(DjangoModelFactory[Webhook]):
    class Meta:
        model = Webhook

    owner = factory.SubFactory(UserFactory)
    url = "https://hooks.example.com/awaiting-death"
    events = factory.LazyFunction(lambda: [Event.READY.value])
    created_at = factory.LazyFunction(timezone.now)


class WebhookDeliveryFactory(DjangoModelFactory[WebhookDelivery]):
    class Meta:
        model = WebhookDelivery

    webhook = factory.SubFactory(WebhookFactory)
    event = Event.READY.value
    payload = factory.LazyFunction(lambda: {"event": Event.READY.value})
    created_at = factory.LazyFunction(timezone.now)


class DeliveryAttemptFactory(DjangoModelFactory[DeliveryAttempt]):
    class Meta:
        model = DeliveryAttempt

    delivery = factory.SubFactory(WebhookDeliveryFactory)
    number = factory.Sequence(lambda n: n + 1)
    at = factory.LazyFunction(timezone.now)
    response_status = 200


class EmailChoiceFactory(DjangoModelFactory[EmailChoice]):
    class Meta:
        model = EmailChoice

    user = factory.SubFactory(UserFactory)
    events = factory.LazyFunction(lambda: [Event.READY.value])


class ResumableUploadFactory(DjangoModelFactory[ResumableUpload]):
    class Meta:
        model = ResumableUpload

    owner = factory.SubFactory(UserFactory)
    length = 1024
    filename = factory.Sequence(lambda n: f"upload-{n}.bin")
    created_at = factory.LazyFunction(timezone.now)
    expires_at = factory.LazyAttribute(lambda upload: upload.created_at + DAY)


class UploadRequestFactory(DjangoModelFactory[UploadRequest]):
    """An open upload request, a week to live, no password and no limits."""

    class Meta:
        model = UploadRequest

    owner = factory.SubFactory(UserFactory)
    name = factory.Sequence(lambda n: f"request {n}")
    created_at = factory.LazyFunction(timezone.now)
    expires_at = factory.LazyAttribute(lambda request: request.created_at + 7 * DAY)


class SubmissionFactory(DjangoModelFactory[Submission]):
    class Meta:
        model = Submission

    request = factory.SubFactory(UploadRequestFactory)
    archive = factory.SubFactory(ArchiveFactory, owner=factory.SelfAttribute("..request.owner"))
    sender_name = "A sender"
    sender_email = "sender@example.com"
    ip = "192.0.2.7"
    created_at = factory.LazyFunction(timezone.now)
