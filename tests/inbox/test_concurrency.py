"""The last submissions of a request under real parallel senders against gunicorn: exactly
``max_submissions`` archives, whatever the parallelism."""

from __future__ import annotations

from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from archives.models import Archive
from inbox.models import Submission, UploadRequest
from tests.factories import UploadRequestFactory

PARALLEL = 16
LIMIT = 3


@pytest.mark.django_db(transaction=True)
def test_parallel_senders_get_exactly_the_submissions_left(gunicorn: str) -> None:
    request = UploadRequestFactory(max_submissions=LIMIT)
    target = f"{gunicorn}/api/requests/public/{request.slug}/submissions/"

    def send(n: int) -> int:
        files = {"files": (f"part-{n}.bin", b"x" * 50_000)}
        response = requests.post(target, files=files, data={"sender_name": f"s{n}"}, timeout=60)
        return response.status_code

    with ThreadPoolExecutor(max_workers=PARALLEL) as pool:
        statuses = Counter(pool.map(send, range(PARALLEL)))

    assert statuses == {201: LIMIT, 410: PARALLEL - LIMIT}
    assert UploadRequest.objects.get().submissions_count == LIMIT
    assert Submission.objects.count() == LIMIT
    assert Archive.objects.filter(owner=request.owner).count() == LIMIT
