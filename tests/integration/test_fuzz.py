"""Schemathesis against the OpenAPI document a real `hello-api serve` serves, on PostgreSQL.

Every check is on, in every phase (examples, coverage, fuzzing) and statefully (links
between operations, inferred from the document and the responses). Hypothesis is
derandomized so CI runs the same cases every time, and the number of examples is bounded
so the file runs in well under two minutes on a loaded two-core machine.

The per-operation tests are generated at collection time, before any server runs, so
they read the document the app builds in-process (what /schema/openapi.json serves) and
send every request to the real server; a test checks that server serves the same
document. (`schemathesis.pytest.from_fixture` would load it later, but needs pytest < 9.)
"""

from __future__ import annotations

import uuid

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.generation.stateful.state_machine import APIStateMachine

from service.app import create_app
from service.greetings.routes import IDEMPOTENCY_KEY_MAX
from service.settings import Settings
from tests.support.server import ServerProcess

IDEMPOTENCY_KEY = "Idempotency-Key"
EXAMPLES = 60  # per operation and phase
STEPS = 15  # per stateful scenario
SCENARIOS = 30
CONFIG = schemathesis.Config.from_dict(
    {
        "checks": {"enabled": True},
        "phases": {"enabled": True},
        "generation": {"mode": "all", "max-examples": EXAMPLES, "deterministic": True},
    }
)
HYPOTHESIS = settings(
    max_examples=EXAMPLES,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)


DOCUMENT = "/schema/openapi.json"
# The app is not started: no database is touched, only its document is built.
schema = schemathesis.openapi.from_dict(
    create_app(Settings.from_env({"APP_ENV": "test"})).openapi_schema.to_schema(), config=CONFIG
)


@pytest.fixture(scope="module")
def api(served: ServerProcess) -> schemathesis.BaseSchema:
    """The document as the real server serves it."""
    return schemathesis.openapi.from_url(f"{served.base_url}{DOCUMENT}", config=CONFIG)


def test_the_server_serves_the_document_the_tests_were_generated_from(
    api: schemathesis.BaseSchema,
) -> None:
    """The in-process document is the real server's, byte for byte in meaning."""
    assert api.raw_schema == schema.raw_schema


def fresh_idempotency_key(case: schemathesis.Case) -> None:
    """Give a valid generated Idempotency-Key a value no other case used.

    Generated keys repeat ("0", "a"...) across different bodies, and a key reused with
    another body is rightly 422 (the IETF Idempotency-Key draft), which schemathesis reads
    as a valid request refused. Reuse is tested in test_greetings.py; invalid keys are
    left as generated, so their rejection is still checked.
    """
    key = (case.headers or {}).get(IDEMPOTENCY_KEY)
    if isinstance(key, str) and 1 <= len(key) <= IDEMPOTENCY_KEY_MAX:
        case.headers[IDEMPOTENCY_KEY] = uuid.uuid4().hex


@schema.parametrize()
@HYPOTHESIS
def test_every_operation_answers_as_documented(
    case: schemathesis.Case, served: ServerProcess
) -> None:
    """Generated and hostile requests: no 5xx, every answer as the document says."""
    fresh_idempotency_key(case)
    case.call_and_validate(base_url=served.base_url)


def test_sequences_of_calls_answer_as_documented(api: schemathesis.BaseSchema) -> None:
    """Stateful: create, read, list and page through greetings, following the links."""

    class Workflow(api.as_state_machine()):  # type: ignore[misc]
        def before_call(self, case: schemathesis.Case) -> None:
            fresh_idempotency_key(case)

    machine: type[APIStateMachine] = Workflow
    machine.run(
        settings=settings(
            HYPOTHESIS, max_examples=SCENARIOS, stateful_step_count=STEPS, deadline=None
        )
    )
