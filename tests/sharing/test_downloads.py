"""The download rule function and the counting, on every branch."""

from __future__ import annotations

import base64
import binascii
import contextlib
import zlib
from datetime import timedelta
from typing import TYPE_CHECKING

import pytest
import time_machine
from django.contrib.auth.hashers import make_password
from django.http import Http404
from django.utils import timezone

from archives.models import Archive, Download, Link, Status
from archives.services import create_link
from core.models import FailureWindow
from sharing.downloads import (
    CountedDownload,
    Granted,
    Outcome,
    Share,
    check_download,
    covered_ranges,
    find_share,
    grant_budget,
    grant_hash,
    granted_download,
    record_download,
    record_transfer,
    reserve_grant,
    resumed_download,
    share_scope,
)
from tests.factories import LinkFactory

if TYPE_CHECKING:
    from collections.abc import Callable

    from pytest_django.fixtures import Settings as DjangoSettings

pytestmark = pytest.mark.django_db
CLIENT = "203.0.113.7"


def decide(archive: Archive, password: str | None = None, grant: str | None = None) -> Outcome:
    return check_download(
        Share(archive), password=password, client=CLIENT, now=timezone.now(), grant=grant
    ).outcome


def test_a_share_finds_its_archive_as_the_orm_loads_it(
    make_archive: Callable[..., Archive],
) -> None:
    made = make_archive(password="pw", max_downloads=3)
    Archive.objects.filter(pk=made.pk).update(scrubbed_at=timezone.now())
    loaded = Archive.objects.get(pk=made.pk)

    found = find_share(made.slug).archive

    assert found.slug == made.slug
    for field in Archive._meta.concrete_fields:
        value = getattr(found, field.attname)
        assert value == getattr(loaded, field.attname), field.name
        assert type(value) is type(getattr(loaded, field.attname)), field.name
    assert found.expires_at.tzinfo is not None
    assert found._state.adding is False


def test_allowed_when_ready_and_open(make_archive: Callable[..., Archive]) -> None:
    assert decide(make_archive()) is Outcome.ALLOWED


def test_expired_once_the_owner_is_deactivated(make_archive: Callable[..., Archive]) -> None:
    archive = make_archive()
    archive.owner.is_active = False
    archive.owner.save()

    found = find_share(archive.slug)

    assert check_download(found, password=None, client=CLIENT, now=timezone.now()).outcome is (
        Outcome.EXPIRED
    )


@pytest.mark.parametrize("status", [Status.PENDING, Status.BUILDING, Status.FAILED])
def test_refused_when_not_built(make_archive: Callable[..., Archive], status: str) -> None:
    archive = make_archive(build=False)
    archive.status = status

    assert decide(archive) is Outcome.NOT_READY


def test_refused_when_ttl_passed(make_archive: Callable[..., Archive]) -> None:
    archive = make_archive(ttl=60)

    with time_machine.travel(timezone.now() + timedelta(seconds=61)):
        assert decide(archive) is Outcome.EXPIRED


def test_refused_when_purged(make_archive: Callable[..., Archive]) -> None:
    archive = make_archive()
    archive.status = Status.EXPIRED

    assert decide(archive) is Outcome.EXPIRED


def test_password_required_then_wrong_then_right(make_archive: Callable[..., Archive]) -> None:
    archive = make_archive(password="s3cret")

    assert decide(archive) is Outcome.PASSWORD_REQUIRED
    assert decide(archive, "guess") is Outcome.WRONG_PASSWORD
    assert decide(archive, "s3cret") is Outcome.ALLOWED
    assert FailureWindow.objects.get(scope=share_scope(Share(archive)), key=CLIENT).failures == 1


def test_throttled_after_limit_also_for_right_password_until_window_passes(
    make_archive: Callable[..., Archive], settings: DjangoSettings
) -> None:
    settings.PASSWORD_ATTEMPTS_LIMIT = 3
    settings.PASSWORD_ATTEMPTS_WINDOW = 600
    archive = make_archive(password="s3cret")
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        for _ in range(3):
            assert decide(archive, "guess") is Outcome.WRONG_PASSWORD
        decision = check_download(Share(archive), password="s3cret", client=CLIENT, now=start)

    assert decision.outcome is Outcome.THROTTLED
    assert decision.retry_after == 601
    other = check_download(Share(archive), password="s3cret", client="198.51.100.1", now=start)
    assert other.outcome is Outcome.ALLOWED
    with time_machine.travel(start + timedelta(seconds=601), tick=False):
        assert decide(archive, "s3cret") is Outcome.ALLOWED
        assert decide(archive, "guess") is Outcome.WRONG_PASSWORD
    assert FailureWindow.objects.get(scope=share_scope(Share(archive)), key=CLIENT).failures == 1


def test_a_share_whose_password_was_removed_is_not_throttled(
    make_archive: Callable[..., Archive], settings: DjangoSettings
) -> None:
    settings.PASSWORD_ATTEMPTS_LIMIT = 2
    archive = make_archive(password="s3cret")
    for _ in range(2):
        decide(archive, "guess")
    assert decide(archive, "s3cret") is Outcome.THROTTLED

    Archive.objects.filter(pk=archive.pk).update(password="")
    archive.refresh_from_db()

    assert decide(archive) is Outcome.ALLOWED


def test_limit_reached(make_archive: Callable[..., Archive]) -> None:
    archive = make_archive(max_downloads=1)
    Archive.objects.filter(pk=archive.pk).update(download_count=1)
    archive.refresh_from_db()

    assert decide(archive) is Outcome.LIMIT_REACHED


def test_grant_resumes_past_the_limit_but_not_past_password_or_ttl(
    make_archive: Callable[..., Archive],
) -> None:
    archive = make_archive(max_downloads=1, password="pw", ttl=60)
    counted = record_download(
        Share(archive), client=CLIENT, referer="", user_agent="", now=timezone.now()
    )
    archive.refresh_from_db()
    assert counted is not None
    grant = counted.grant

    assert decide(archive, "pw") is Outcome.LIMIT_REACHED
    assert decide(archive, "pw", grant=grant) is Outcome.ALLOWED
    assert decide(archive, None, grant=grant) is Outcome.PASSWORD_REQUIRED
    with time_machine.travel(timezone.now() + timedelta(seconds=61)):
        assert decide(archive, "pw", grant=grant) is Outcome.EXPIRED


def count_one(share: Share) -> tuple[int, str]:
    """A download of ``share`` counted now: its id and its grant."""
    download = record_download(share, client=CLIENT, referer="", user_agent="", now=timezone.now())
    assert download is not None
    return download.id, download.grant


def test_grant_of_another_archive_or_forged_is_invalid(
    make_archive: Callable[..., Archive],
) -> None:
    first, second = make_archive(), make_archive()
    _, grant = count_one(Share(first))

    assert granted_download(Share(first), grant) is not None
    assert granted_download(Share(second), grant) is None
    assert granted_download(Share(first), grant[:-2] + "xx") is None
    assert granted_download(Share(first), None) is None


def test_grant_expires(make_archive: Callable[..., Archive], settings: DjangoSettings) -> None:
    archive = make_archive()
    _, grant = count_one(Share(archive))

    with time_machine.travel(timezone.now() + timedelta(seconds=settings.DOWNLOAD_GRANT_TTL + 1)):
        assert granted_download(Share(archive), grant) is None


def new_link(archive: Archive, label: str) -> Link:
    return create_link(
        archive, label=label, password="", max_downloads=None, ttl=None, now=timezone.now()
    )


def decodings(token: str) -> list[bytes]:
    """Every way the token, or a part of it, could be read: as text, base64 (URL-safe or
    not) decoded, and that inflated, as Django's signing packs a payload."""
    readings = [token.encode()]
    for part in {token, *token.split(":"), *token.split(".")}:
        part = part.lstrip(".")
        padded = part + "=" * (-len(part) % 4)
        for decode in (base64.urlsafe_b64decode, base64.b64decode):
            try:
                raw = decode(padded)
            except (binascii.Error, ValueError):
                continue
            readings.append(raw)
            with contextlib.suppress(zlib.error):
                readings.append(zlib.decompress(raw))
    return readings


def test_a_grant_is_opaque_and_only_its_hash_is_stored(
    make_archive: Callable[..., Archive],
) -> None:
    archive = make_archive(max_downloads=None)
    link = new_link(archive, "Bob")
    share = Share(archive, link)
    first_id, first = count_one(share)
    second_id, second = count_one(share)

    # Random, not derived from the share or a counter: no id shows, plain or decoded.
    assert first != second
    assert len(first) >= 40
    assert first[:6] != second[:6]
    for token in (first, second):
        for reading in decodings(token):
            text = reading.decode("latin-1")
            assert archive.pk not in text
            assert link.slug not in text
            # A signed payload's keys; random bytes hold one of these 4 bytes by chance
            # about once in 10**8 tokens.
            for marker in ('"a":', '"l":', '"d":'):
                assert marker not in text
    # Only the hash is kept.
    for token, download_id in ((first, first_id), (second, second_id)):
        row = Download.objects.get(pk=download_id)
        assert row.grant_hash == grant_hash(share, token)
        stored = [str(getattr(row, f.attname)) for f in Download._meta.concrete_fields]
        assert not any(token in value for value in stored)
    assert granted_download(share, first) == Granted(first_id, is_complete=False)
    assert granted_download(share, second) == Granted(second_id, is_complete=False)


def test_a_grant_resumes_only_its_own_share(make_archive: Callable[..., Archive]) -> None:
    archive = make_archive(max_downloads=None)
    bob, eve = new_link(archive, "Bob"), new_link(archive, "Eve")
    bob_id, for_bob = count_one(Share(archive, bob))
    own_id, for_archive = count_one(Share(archive))

    assert granted_download(Share(archive, bob), for_bob) == Granted(bob_id, is_complete=False)
    assert granted_download(Share(archive, eve), for_bob) is None
    assert granted_download(Share(archive), for_bob) is None
    assert granted_download(Share(archive), for_archive) == Granted(own_id, is_complete=False)
    assert granted_download(Share(archive, bob), for_archive) is None
    other = make_archive(max_downloads=None)
    assert granted_download(Share(other), for_archive) is None


def test_a_grant_resumes_within_its_ttl_from_the_download(
    make_archive: Callable[..., Archive], settings: DjangoSettings
) -> None:
    archive = make_archive(max_downloads=None, ttl=10 * settings.DOWNLOAD_GRANT_TTL)
    download_id, grant = count_one(Share(archive))
    later = timezone.now() + timedelta(seconds=settings.DOWNLOAD_GRANT_TTL - 5)

    with time_machine.travel(later):
        assert granted_download(Share(archive), grant) == Granted(download_id, is_complete=False)
        assert decide(archive, grant=grant) is Outcome.ALLOWED
    with time_machine.travel(later + timedelta(seconds=10)):
        assert granted_download(Share(archive), grant) is None
        assert (
            check_download(
                Share(archive), password=None, client=CLIENT, now=timezone.now(), grant=grant
            ).is_resume
            is False
        )


def test_a_new_password_or_a_revoked_link_ends_the_grant(
    make_archive: Callable[..., Archive],
) -> None:
    archive = make_archive(max_downloads=None, password="pw")
    link = new_link(archive, "Bob")
    _, own = count_one(Share(archive))
    _, for_bob = count_one(Share(archive, link))
    assert granted_download(Share(archive), own) is not None
    assert granted_download(Share(archive, link), for_bob) is not None

    Archive.objects.filter(pk=archive.pk).update(password=make_password("new"))
    archive.refresh_from_db()
    assert granted_download(Share(archive), own) is None
    assert decide(archive, "new", grant=own) is Outcome.ALLOWED
    assert not check_download(
        Share(archive), password="new", client=CLIENT, now=timezone.now(), grant=own
    ).is_resume
    Link.objects.filter(pk=link.pk).update(password=make_password("bob"))
    link.refresh_from_db()
    assert granted_download(Share(archive, link), for_bob) is None
    Link.objects.filter(pk=link.pk).update(revoked_at=timezone.now())
    with pytest.raises(Http404):
        find_share(link.slug)


def test_record_download_counts_logs_and_stops_at_the_limit(
    make_archive: Callable[..., Archive],
) -> None:
    archive = make_archive(max_downloads=2)
    now = timezone.now()
    results = [
        record_download(Share(archive), client=CLIENT, referer="r", user_agent="ua" * 400, now=now)
        for _ in range(3)
    ]

    assert [result is not None for result in results] == [True, True, False]
    archive.refresh_from_db()
    assert archive.download_count == 2
    rows = list(Download.objects.filter(archive=archive))
    assert len(rows) == 2
    assert rows[0].ip == CLIENT
    assert len(rows[0].user_agent) == 512


def test_record_download_refuses_after_ttl(make_archive: Callable[..., Archive]) -> None:
    archive = make_archive(ttl=60)

    later = timezone.now() + timedelta(seconds=61)

    assert (
        record_download(Share(archive), client=CLIENT, referer="", user_agent="", now=later) is None
    )


def test_share_status_is_expired_once_the_link_runs_out_else_the_archives(
    make_archive: Callable[..., Archive],
) -> None:
    now = timezone.now()
    archive = make_archive()
    building = make_archive(build=False)
    link = create_link(archive, label="Bob", password="", max_downloads=1, ttl=60, now=now)

    assert Share(archive).status(now=now) == Status.READY
    assert Share(building).status(now=now) == Status.PENDING
    assert Share(archive, link).status(now=now) == Status.READY
    assert Share(archive, link).status(now=now + timedelta(minutes=2)) == Status.EXPIRED
    link.download_count = 1
    assert Share(archive, link).status(now=now) == Status.EXPIRED
    assert Share(archive).status(now=now) == Status.READY


def test_share_downloads_left_is_the_smaller_of_both_limits(
    make_archive: Callable[..., Archive],
) -> None:
    archive = make_archive(max_downloads=5)
    link = create_link(
        archive, label="Bob", password="", max_downloads=2, ttl=None, now=timezone.now()
    )

    assert Share(archive).downloads_left() == 5
    assert Share(archive, link).downloads_left() == 2
    link.download_count = 2
    assert Share(archive, link).is_used_up
    assert not Share(archive).is_used_up


def count_now(
    share: Share, *, reserve: int = 0, user_agent: str = "", client: str = CLIENT
) -> CountedDownload:
    """A download of ``share`` counted now, ``reserve`` bytes of its grant taken."""
    download = record_download(
        share, client=client, referer="", user_agent=user_agent, now=timezone.now(),
        reserve=reserve,
    )  # fmt: skip
    assert download is not None
    return download


def test_bytes_sent_is_the_union_of_the_ranges_and_complete_once_they_cover_the_zip(
    make_archive: Callable[..., Archive],
) -> None:
    archive = make_archive()
    counted = count_now(Share(archive), reserve=200)
    download = Download.objects.get(pk=counted.id)

    def sent(start: int, length: int, *, reserved: int | None = None) -> tuple[int, bool]:
        record_transfer(
            download.pk, start=start, sent=length, reserved=reserved or length, size=100
        )
        download.refresh_from_db()
        return download.bytes_sent, download.completed

    assert sent(0, 40) == (40, False)
    # The tail: the end is reached, but 40 bytes in the middle are still missing.
    assert sent(80, 20) == (60, False)
    # The first 40 again: as many bytes as the ZIP were sent, but not all of them.
    assert sent(0, 40) == (60, False)
    assert download.ranges == [[0, 40], [80, 100]]
    assert sent(40, 40) == (100, True)
    assert download.ranges == [[0, 100]]
    # A later range adds nothing and leaves it complete.
    assert sent(10, 10) == (100, True)


def test_what_a_response_did_not_send_goes_back_to_the_grant(
    make_archive: Callable[..., Archive],
) -> None:
    archive = make_archive()
    counted = count_now(Share(archive), reserve=100)

    # The client went away after 30 of the 100 bytes reserved.
    record_transfer(counted.id, start=0, sent=30, reserved=100, size=100)

    download = Download.objects.get(pk=counted.id)
    assert (download.grant_used, download.bytes_sent, download.completed) == (30, 30, False)


def test_a_transfer_of_a_deleted_download_is_dropped(make_archive: Callable[..., Archive]) -> None:
    archive = make_archive()
    counted = count_now(Share(archive))
    archive.delete()

    record_transfer(counted.id, start=0, sent=10, reserved=10, size=100)

    assert not Download.objects.filter(pk=counted.id).exists()


@pytest.mark.parametrize(
    ("ranges", "added", "merged"),
    [
        ([], (0, 10), [[0, 10]]),
        ([[0, 10]], (10, 20), [[0, 20]]),
        ([[0, 10]], (5, 8), [[0, 10]]),
        ([[0, 10], [20, 30]], (12, 18), [[0, 10], [12, 18], [20, 30]]),
        ([[0, 10], [20, 30]], (8, 22), [[0, 30]]),
        ([[20, 30]], (0, 5), [[0, 5], [20, 30]]),
    ],
)
def test_covered_ranges_merge_touching_and_overlapping_pairs(
    ranges: list[list[int]], added: tuple[int, int], merged: list[list[int]]
) -> None:
    assert covered_ranges(ranges, start=added[0], end=added[1]) == merged


@pytest.mark.parametrize(("slack", "budget"), [(10, 110), (0, 100), (25, 125), (1, 101)])
def test_the_grant_budget_is_the_size_plus_the_slack(
    settings: DjangoSettings, slack: int, budget: int
) -> None:
    settings.DOWNLOAD_GRANT_SLACK = slack

    assert grant_budget(100) == budget
    assert grant_budget(1001) == 1001 + -(-1001 * slack // 100)


def test_a_reservation_past_the_budget_takes_nothing(
    make_archive: Callable[..., Archive],
) -> None:
    archive = make_archive()
    counted = count_now(Share(archive), reserve=100)

    assert reserve_grant(counted.id, length=10, size=100)
    assert not reserve_grant(counted.id, length=1, size=100)
    record_transfer(counted.id, start=0, sent=60, reserved=100, size=100)
    assert reserve_grant(counted.id, length=40, size=100)
    assert not reserve_grant(counted.id, length=1, size=100)
    assert Download.objects.get(pk=counted.id).grant_used == 110


def lost_resume(
    share: Share, *, client: str = CLIENT, user_agent: str = "Wget/1.21.3", start: int = 500
) -> int | None:
    return resumed_download(
        share, grant=None, client=client, user_agent=user_agent, range_start=start,
        now=timezone.now(),
    )  # fmt: skip


def test_a_lost_grant_resumes_a_range_from_the_same_address_and_user_agent(
    make_archive: Callable[..., Archive],
) -> None:
    archive = make_archive()
    share = Share(archive)
    counted = count_now(share, user_agent="Wget/1.21.3")

    assert lost_resume(share) == counted.id
    # From byte 0 or without a range it is a new download, as is another client's.
    assert lost_resume(share, start=0) is None
    assert resumed_download(
        share, grant=None, client=CLIENT, user_agent="Wget/1.21.3", range_start=None,
        now=timezone.now(),
    ) is None  # fmt: skip
    assert lost_resume(share, user_agent="curl/7.88.1") is None
    assert lost_resume(share, client="198.51.100.9") is None
    # Nor through another link of the archive.
    link = LinkFactory(archive=archive)
    assert lost_resume(Share(archive, link)) is None


def test_a_lost_grant_does_not_resume_a_complete_download_nor_past_its_end(
    make_archive: Callable[..., Archive], settings: DjangoSettings
) -> None:
    archive = make_archive()
    share = Share(archive)
    size = archive.size or 0
    counted = count_now(share, user_agent="Wget/1.21.3")
    record_transfer(counted.id, start=0, sent=size, reserved=size, size=size)
    assert lost_resume(share) is None

    again = count_now(share, user_agent="Wget/1.21.3")
    assert lost_resume(share) == again.id
    with time_machine.travel(timezone.now() + timedelta(seconds=settings.DOWNLOAD_GRANT_TTL + 1)):
        assert lost_resume(share) is None


def test_a_lost_grant_ends_with_a_new_password(make_archive: Callable[..., Archive]) -> None:
    archive = make_archive(password="old")
    counted = count_now(Share(archive), user_agent="Wget/1.21.3")
    assert lost_resume(Share(archive)) == counted.id

    archive.password = make_password("new")
    archive.save(update_fields=["password"])

    assert lost_resume(Share(Archive.objects.get(pk=archive.pk))) is None


def test_a_whole_file_request_on_a_complete_downloads_grant_is_a_new_download(
    make_archive: Callable[..., Archive],
) -> None:
    archive = make_archive()
    share = Share(archive)
    size = archive.size or 0
    counted = count_now(share)

    def resumed(range_start: int | None) -> int | None:
        return resumed_download(
            share, grant=counted.grant, client=CLIENT, user_agent="", range_start=range_start,
            now=timezone.now(),
        )  # fmt: skip

    assert resumed(None) == counted.id
    record_transfer(counted.id, start=0, sent=size, reserved=size, size=size)
    assert resumed(None) is None
    # A range still goes on with it, within its budget.
    assert resumed(0) == counted.id
