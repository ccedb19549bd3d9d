"""The database wiring: readiness's own engine, and the options shared with `migrate`."""

from __future__ import annotations

from typing import Any

from service.db import PROBE_SECONDS, connect, connect_args
from service.settings import Settings


def postgres(**env: str) -> Any:
    """Database settings for a PostgreSQL server (nothing connects until first use)."""
    return Settings.from_env({"DATABASE_URL": "postgresql://u@db.invalid/app", **env}).database


def test_readiness_has_its_own_one_connection_engine_on_postgresql() -> None:
    """A pool of one, short timeouts, the app's TLS: never the request pool."""
    database = connect(postgres(DB_SSL="require", DB_POOL_SIZE="7"))
    assert database.probe is not database.engine
    assert database.probe.pool.size() == 1  # type: ignore[attr-defined]
    assert database.engine.pool.size() == 7  # type: ignore[attr-defined]


def test_migrate_and_the_app_connect_with_the_same_options() -> None:
    """DB_SSL and the timeouts come from one place (issue 12: migrate ignored DB_SSL)."""
    args = connect_args(postgres(DB_SSL="verify-full", DB_QUERY_TIMEOUT_SECONDS="3"))
    assert args == {"ssl": "verify-full", "timeout": 5, "command_timeout": 3.0}
    assert PROBE_SECONDS <= 1


def test_sqlite_probes_through_its_only_engine() -> None:
    """A file, no server: nothing to keep apart, no connection options."""
    database = connect(Settings.from_env({}).database)
    assert database.probe is database.engine
    assert connect_args(Settings.from_env({}).database) == {}
