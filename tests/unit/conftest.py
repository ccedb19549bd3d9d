"""Unit fixtures: the real app on a throw-away SQLite file, no network."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from litestar import Litestar
from litestar.testing import TestClient

from service.app import create_app
from service.settings import Settings


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Development settings on a SQLite file of this test's own (migrated at start-up)."""
    return Settings.from_env({"DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'hello.db'}"})


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient[Litestar]]:
    """A client for the app, lifespan included."""
    with TestClient(create_app(settings)) as test_client:
        yield test_client
