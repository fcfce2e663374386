"""Fuzzing the API from its own OpenAPI schema against a live server: no 5xx, and every
response matches the schema (status, content type, body, headers).

Bounded: ``EXAMPLES`` generated requests per operation and mode, no deadline per example.
"""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode, checks
from schemathesis.core.result import Ok

from accounts.services import issue_token

if TYPE_CHECKING:
    from pytest_django.live_server_helper import LiveServer

    from accounts.models import User

EXAMPLES = 20
# Positive data acceptance is left out: valid-looking requests are refused for reasons a
# schema cannot state (a weak password, a taken username, a quota).
CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_schema_conformance,
    checks.response_headers_conformance,
]
# In form bodies every value is text, so "a number where a string belongs" cannot be told
# apart; invalid data must be refused everywhere else.
FORM_TYPES = {"multipart/form-data", "application/x-www-form-urlencoded"}


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_api_answers_every_request_as_its_schema_says(
    live_server: LiveServer, user: User, mode: GenerationMode
) -> None:
    schema = schemathesis.openapi.from_url(f"{live_server.url}/api/schema/")
    headers = {"Authorization": f"Token {issue_token(user)}"}
    sent: Counter[str] = Counter()
    results = list(schema.get_all_operations())
    operations = [result.ok() for result in results if isinstance(result, Ok)]
    assert len(operations) == len(results) >= 10

    for operation in operations:

        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def call(case: schemathesis.Case) -> None:
            sent[case.operation.label] += 1
            chosen = list(CHECKS)
            if case.media_type not in FORM_TYPES:
                chosen.append(checks.negative_data_rejection)
            case.call_and_validate(
                base_url=live_server.url, headers=headers, checks=chosen, timeout=30
            )

        try:
            call()
        except Unsatisfiable:
            # An operation without parameters or body has no invalid request to make.
            assert mode is GenerationMode.NEGATIVE

    print(f"schemathesis {mode.value}: {len(operations)} operations, {sum(sent.values())} requests")  # noqa: T201
