"""Markers come from the folder a test lives in: tests/unit is `unit`, and so on."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

TESTS = Path(__file__).parent
FOLDER_MARKERS = ("unit", "integration", "container", "pipeline", "k8s")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        folder = Path(item.path).relative_to(TESTS).parts[0]
        if folder in FOLDER_MARKERS:
            item.add_marker(folder)


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
