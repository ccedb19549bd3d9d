"""Markers come from the folder a test lives in: tests/unit is `unit`, and so on.

No test inherits OTEL_* or a caller's trace context (see `untraced_environment`).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.engine_env import untraced

TESTS = Path(__file__).parent
FOLDER_MARKERS = ("unit", "integration", "container", "pipeline", "k8s", "rehearsal")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        folder = Path(item.path).relative_to(TESTS).parts[0]
        if folder in FOLDER_MARKERS:
            item.add_marker(folder)


@pytest.fixture(scope="session", autouse=True)
def untraced_environment() -> Iterator[None]:
    """Tests start with no OTEL_*, TRACEPARENT or BAGGAGE: a real Dagger engine puts them
    into every exec (tests/support/engine_env.py), and the service traces when an endpoint
    is set. A test that depends on one sets it itself; subprocesses inherit the clean set."""
    with pytest.MonkeyPatch.context() as patch:
        for name in os.environ.keys() - untraced(os.environ).keys():
            patch.delenv(name)
        yield


def in_ci() -> bool:
    """CI=true: a missing service or tool fails the run instead of skipping."""
    return os.environ.get("CI", "").lower() == "true"


def missing(what: str) -> None:
    """Skip locally, fail in CI, saying what is missing and how to get it."""
    if in_ci():
        pytest.fail(f"{what} (CI=true: a missing service is a failure)", pytrace=False)
    pytest.skip(what)


@pytest.fixture
def anyio_backend() -> str:
    """Async tests (marked `anyio`) run on asyncio, as the service does."""
    return "asyncio"
