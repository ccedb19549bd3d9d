"""The database: one async engine per process, a session per request."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import anyio
import structlog
from litestar.di import NamedDependency
from sqlalchemy import BigInteger, DateTime, Integer, String, event, text
from sqlalchemy.exc import InvalidatePoolError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from service.settings import DatabaseSettings

POOL_CLOSE_SECONDS = 2.0
PROBE_SECONDS = 1.0  # readiness's connect and statement timeout
log = structlog.get_logger("service.db")


class Base(DeclarativeBase):
    """Declarative base of every table; Alembic autogenerates from its metadata."""


class Greeting(Base):
    """A greeting someone asked the service to remember."""

    __tablename__ = "greetings"

    # BIGINT on PostgreSQL; SQLite only auto-increments an INTEGER primary key.
    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    name: Mapped[str] = mapped_column(String(64))
    message: Mapped[str] = mapped_column(String(80))
    idempotency_key: Mapped[str | None] = mapped_column(String(255), unique=True)
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=lambda: datetime.now(UTC)
    )


@dataclass(frozen=True, slots=True)
class Database:
    """The engines, kept on the app's state: requests use `engine`, readiness `probe`."""

    engine: AsyncEngine
    probe: AsyncEngine

    async def ping(self) -> None:
        """Run `SELECT 1` on readiness's own connection; raises when it gets no answer.

        Never through the request pool: a pool held by slow requests (a lock, a heavy
        query) says nothing about whether this pod can reach its database, and waiting
        for it would turn every replica unready at once. A connection whose statement
        failed or was cancelled (the caller's timeout) is dropped, not reused.
        """
        async with self.probe.connect() as connection:
            try:
                await connection.execute(text("SELECT 1"))
            except BaseException:
                await connection.invalidate()
                raise

    async def close(self) -> None:
        """Close the pooled connections, giving up after POOL_CLOSE_SECONDS.

        A database that stopped answering makes each close wait for
        DB_QUERY_TIMEOUT_SECONDS; one after another they outlasted granian's wait for
        the worker (a TimeoutError traceback, exit code 1). What is left open then
        goes with the process.
        """
        with anyio.move_on_after(POOL_CLOSE_SECONDS) as waited:
            await self.engine.dispose()
            if self.probe is not self.engine:
                await self.probe.dispose()
        if waited.cancelled_caught:
            log.warning("database connections dropped unclosed", seconds=POOL_CLOSE_SECONDS)

    def pool_status(self) -> dict[str, int]:
        """Connections by state, for the pool metrics (empty for unpooled SQLite)."""
        pool: Any = self.engine.pool
        if not hasattr(pool, "checkedout"):
            return {}
        return {
            "size": pool.size(),
            "checked_out": pool.checkedout(),
            "idle": pool.checkedin(),
            "overflow": max(pool.overflow(), 0),
        }


def connect(settings: DatabaseSettings) -> Database:
    """Create the engine (no connection is opened until first use).

    Autocommit: every operation of the service is a single statement, atomic by itself,
    so no BEGIN/COMMIT round trips are spent around it.
    """
    engine = create_async_engine(
        settings.url, isolation_level="AUTOCOMMIT", **_engine_options(settings)
    )
    if settings.is_sqlite:  # a file, no server: nothing to probe apart from the pool
        return Database(engine=engine, probe=engine)
    event.listen(engine.sync_engine.pool, "checkout", discard_closed)
    return Database(engine=engine, probe=_probe_engine(settings))


def _probe_engine(settings: DatabaseSettings) -> AsyncEngine:
    """One connection of readiness's own, with the app's TLS and short timeouts."""
    options = connect_args(settings) | {"timeout": PROBE_SECONDS, "command_timeout": PROBE_SECONDS}
    probe = create_async_engine(
        settings.url,
        isolation_level="AUTOCOMMIT",
        pool_size=1,
        max_overflow=0,
        pool_timeout=PROBE_SECONDS,
        pool_recycle=1800,
        connect_args=options,
    )
    event.listen(probe.sync_engine.pool, "checkout", discard_closed)
    return probe


def discard_closed(_dbapi_connection: Any, record: Any, _proxy: Any) -> None:
    """Pool checkout hook: never hand out a connection the server has closed.

    After a restart or failover PostgreSQL closes every client socket; asyncpg notices
    without a round trip. Raising InvalidatePoolError makes the pool replace this
    connection and every one pooled before it, as SQLAlchemy does after a disconnect,
    so no request (including the driver-level INSERT) gets a dead one.
    """
    if record.driver_connection.is_closed():
        raise InvalidatePoolError("the server closed this connection")


def _engine_options(settings: DatabaseSettings) -> dict[str, Any]:
    if settings.is_sqlite:
        return {}
    return {
        "pool_size": settings.pool_size,
        "max_overflow": 0,  # a fixed pool: predictable load on PostgreSQL per replica
        "pool_timeout": 5,  # fail a request fast rather than queue it behind a dead database
        "pool_recycle": 1800,
        "connect_args": connect_args(settings),
    }


def connect_args(settings: DatabaseSettings) -> dict[str, Any]:
    """The driver's connection options: the app and `hello-api migrate` use exactly these.

    A statement unanswered for query_timeout_seconds (a silent network path, a lock held
    too long) raises TimeoutError (503); provide_connection drops that connection.
    """
    if settings.is_sqlite:
        return {}
    return {"ssl": settings.ssl, "timeout": 5, "command_timeout": settings.query_timeout_seconds}


async def provide_connection(
    database: NamedDependency[Database],
) -> AsyncIterator[AsyncConnection]:
    """Litestar dependency: a pooled connection for the request, returned after it.

    A statement that timed out may still be being cancelled on this connection: it is
    dropped rather than handed to the next request.
    """
    async with database.engine.connect() as connection:
        try:
            yield connection
        except TimeoutError:
            await connection.invalidate()
            raise
