"""Fuzzing the API from its own OpenAPI schema against a live server, authenticated: no
5xx, and every response matches the schema (status documented, content type, body,
headers), for each operation alone and for sequences that follow the schema's links
(create, then read, change, delete what was made, its links and its share).

Bounded: ``EXAMPLES`` generated requests per operation and mode, ``SCENARIOS`` sequences
of at most ``STEPS`` calls; no deadline per example.
"""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING, Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import FlakyStrategyDefinition, Unsatisfiable
from schemathesis import GenerationMode, checks
from schemathesis.core.result import Ok

from accounts.services import issue_token

if TYPE_CHECKING:
    from pytest_django.live_server_helper import LiveServer
    from schemathesis.core.transport import Response

    from accounts.models import User

EXAMPLES = 20
SCENARIOS = 300
STEPS = 6
RUNS = 10
# Positive data acceptance is left out: valid-looking requests are refused for reasons a
# schema cannot state (a weak password, a taken username, a quota, an unknown upload).
# Use after free is left out too: deleting a recipient link revokes it, and its owner
# still reads it (is_revoked), as the schema says.
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
HYPOTHESIS = {
    "deadline": None,
    "database": None,
    "suppress_health_check": list(HealthCheck),
}


def checks_for(case: schemathesis.Case) -> list[Any]:
    if case.media_type in FORM_TYPES:
        return list(CHECKS)
    return [*CHECKS, checks.negative_data_rejection]


def _schema(live_server: LiveServer) -> Any:
    return schemathesis.openapi.from_url(f"{live_server.url}/api/schema/")


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_api_answers_every_request_as_its_schema_says(
    live_server: LiveServer, user: User, mode: GenerationMode
) -> None:
    schema = _schema(live_server)
    headers = {"Authorization": f"Token {issue_token(user)}"}
    sent: Counter[str] = Counter()
    results = list(schema.get_all_operations())
    operations = [result.ok() for result in results if isinstance(result, Ok)]
    assert len(operations) == len(results) >= 10

    for operation in operations:

        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(max_examples=EXAMPLES, **HYPOTHESIS)
        def call(case: schemathesis.Case) -> None:
            sent[case.operation.label] += 1
            case.call_and_validate(
                base_url=live_server.url, headers=headers, checks=checks_for(case), timeout=30
            )

        try:
            call()
        except Unsatisfiable:
            # An operation without parameters or body has no invalid request to make.
            assert mode is GenerationMode.NEGATIVE

    print(f"schemathesis {mode.value}: {len(operations)} operations, {sum(sent.values())} requests")  # noqa: T201


@pytest.mark.django_db(transaction=True)
def test_sequences_along_the_links_answer_as_the_schema_says(
    live_server: LiveServer, user: User
) -> None:
    schema = _schema(live_server)
    headers = {"Authorization": f"Token {issue_token(user)}"}
    answers: Counter[tuple[str, int]] = Counter()
    scenarios: Counter[str] = Counter()
    failures: list[str] = []

    class Sequences(schema.as_state_machine()):  # type: ignore[misc]
        def get_call_kwargs(self, case: schemathesis.Case) -> dict[str, Any]:
            return {"base_url": live_server.url, "headers": headers, "timeout": 30}

        def teardown(self) -> None:
            scenarios["done"] += 1
            super().teardown()

        def validate_response(
            self, response: Response, case: schemathesis.Case, **kwargs: Any
        ) -> None:
            answers[(case.operation.label, response.status_code)] += 1
            # Collected, not raised: a sequence cannot be replayed to shrink it, since
            # the server's state has moved on (Hypothesis would call it flaky).
            try:
                case.validate_response(response, checks=checks_for(case), headers=headers)
            except AssertionError as exc:
                failures.append(f"{case.as_curl_command(headers)}\n{exc}")

    for _ in range(RUNS):
        remaining = SCENARIOS - scenarios.total()
        if remaining <= 0:
            break
        try:
            Sequences.run(
                settings=settings(max_examples=remaining, stateful_step_count=STEPS, **HYPOTHESIS)
            )
        except FlakyStrategyDefinition:
            # The server answered the same choices differently (a new id, a full quota), so
            # Hypothesis stops the run; the scenarios it ran stand, a new run goes on.
            continue
    assert scenarios.total() >= SCENARIOS // 2

    assert not failures, "\n\n".join(failures)

    # The links were followed: what a creation made was read, changed or deleted, and its
    # share answered (a 409 while it is not built is an answer about it).
    followed = {
        label
        for label, status in answers
        if ("{id}" in label and 200 <= status < 300)
        or (label.startswith("GET /api/shares/") and status != 404)
    }
    assert len(followed) >= 3, "\n".join(f"{k} {v}" for k, v in sorted(answers.items()))
    print(  # noqa: T201
        f"schemathesis stateful: {scenarios.total()} sequences, {sum(answers.values())} requests"
    )
    for (label, status), count in sorted(answers.items()):
        print(f"  {label} {status}: {count}")  # noqa: T201
