"""The service against a real PostgreSQL: TEST_DATABASE_URL (or DB_*) or a throw-away cluster."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import msgspec
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import text
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from service.app import create_app
from service.settings import Settings, database_settings
from tests.support.engine_env import untraced
from tests.support.postgres import Cluster, throwaway_cluster
from tests.support.server import ServerProcess


@pytest.fixture(scope="session")
def postgres_cluster() -> Iterator[Cluster]:
    """A private cluster these tests may stop and start (needs the local server binaries)."""
    with throwaway_cluster() as cluster:
        yield cluster


@pytest.fixture(scope="session")
def database_url(request: pytest.FixtureRequest) -> Iterator[str]:
    """The database under test, migrated with the real `hello-api migrate` command.

    TEST_DATABASE_URL is used as it is (its greetings are emptied between tests).
    DATABASE_URL or DB_* name a server: the tests make a scratch database there and
    drop it afterwards, so nobody's data is touched. Otherwise a throw-away cluster.
    """
    if explicit := os.environ.get("TEST_DATABASE_URL"):
        url = database_settings({"DATABASE_URL": explicit}, required=True).url
        migrate(url.render_as_string(hide_password=False))
        yield url.render_as_string(hide_password=False)
        return
    if os.environ.get("DATABASE_URL") or os.environ.get("DB_HOST"):
        server = database_settings(os.environ, required=True).url
        with scratch_database(server) as url:
            migrate(url)
            yield url
        return
    cluster: Cluster = request.getfixturevalue("postgres_cluster")
    url = cluster.create_database(f"hello_{uuid.uuid4().hex[:8]}")
    migrate(url)
    yield url


@contextmanager
def scratch_database(server: URL) -> Iterator[str]:
    """CREATE DATABASE on the given server for this run; DROP it at the end."""
    name = f"hello_test_{uuid.uuid4().hex[:8]}"
    admin = create_async_engine(
        server.set(drivername="postgresql+asyncpg"), isolation_level="AUTOCOMMIT"
    )
    run_sync(admin, f'CREATE DATABASE "{name}"')
    try:
        yield server.set(database=name).render_as_string(hide_password=False)
    finally:
        run_sync(admin, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def run_sync(engine: AsyncEngine, statement: str) -> None:
    """One statement on a fresh event loop (session fixtures are synchronous)."""

    async def execute() -> None:
        async with engine.connect() as connection:
            await connection.execute(text(statement))
        await engine.dispose()

    asyncio.run(execute())


def migrate(url: str) -> None:
    """Run `hello-api migrate` as a separate process, as Kubernetes' PreSync Job does."""
    done = run_migrate(url)
    assert done.returncode == 0, f"hello-api migrate failed:\n{done.stdout}\n{done.stderr}"


def run_migrate(url: str, **env: str) -> subprocess.CompletedProcess[str]:
    """This code's `hello-api migrate` on `url` as a separate process, with `env` added."""
    full_env = {**untraced(os.environ), "APP_ENV": "production", "DATABASE_URL": url, **env}
    return subprocess.run(
        [sys.executable, "-m", "service", "migrate"],
        env=full_env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture
async def clean_database(database_url: str) -> str:
    """The migrated database with no greetings in it."""
    await empty(database_url)
    return database_url


async def empty(url: str) -> None:
    """Delete every greeting and restart the ids at 1."""
    engine = create_async_engine(url)
    async with engine.begin() as connection:
        await connection.execute(text("TRUNCATE greetings RESTART IDENTITY"))
    await engine.dispose()


def app_for(url: str) -> Litestar:
    """The production app wiring, pointed at `url`."""
    return create_app(Settings.from_env({"APP_ENV": "test", "DATABASE_URL": url}))


@pytest.fixture
async def client(clean_database: str) -> AsyncIterator[AsyncTestClient[Litestar]]:
    """An HTTP client for the app, lifespan included, on an empty database."""
    async with AsyncTestClient(app_for(clean_database)) as test_client:
        yield test_client


@pytest.fixture(params=["postgresql", "sqlite"])
def any_database(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The PostgreSQL under test, then a SQLite file (the zero-setup default)."""
    if request.param == "postgresql":
        return str(request.getfixturevalue("database_url"))
    return f"sqlite+aiosqlite:///{tmp_path / 'hello.db'}"


@pytest.fixture
async def any_client(any_database: str) -> AsyncIterator[AsyncTestClient[Litestar]]:
    """A client for the app on an empty `any_database` (development: SQLite migrates itself)."""
    on_postgresql = any_database.startswith("postgresql")
    if on_postgresql:
        await empty(any_database)
    app_env = "test" if on_postgresql else "development"
    settings = Settings.from_env({"APP_ENV": app_env, "DATABASE_URL": any_database})
    async with AsyncTestClient(create_app(settings)) as test_client:
        yield test_client


def error_logs(capfd: pytest.CaptureFixture[str]) -> list[dict[str, Any]]:
    """The JSON log lines at level error or above that the app wrote to stdout so far."""
    return error_records(capfd.readouterr().out)


def error_records(output: str) -> list[dict[str, Any]]:
    """The JSON log lines in `output` at level error or above (other lines are ignored)."""
    records = [msgspec.json.decode(line) for line in output.splitlines() if line.startswith("{")]
    return [r for r in records if r.get("level") in {"error", "critical", "exception"}]


@pytest.fixture(scope="module")
def served(database_url: str) -> Iterator[ServerProcess]:
    """A real `hello-api serve` on the migrated PostgreSQL; at the end, its log holds no error.

    LOG_LEVEL=warning: the server's output is read only when it stops, and a line per
    request would fill the pipe and stall it.
    """
    env = {"APP_ENV": "production", "DATABASE_URL": database_url, "LOG_LEVEL": "warning"}
    server = ServerProcess.start(env, ready_path="/health/ready")
    yield server
    _, output = server.stop()
    assert error_records(output) == []
