"""The database: one async engine per process, a session per request."""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import anyio
import asyncpg
import structlog
from litestar.di import NamedDependency
from sqlalchemy import BigInteger, DateTime, Integer, String, event, text
from sqlalchemy.exc import InvalidatePoolError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from service.deadlines import Deadline
from service.observability.context import UntracedStatements, in_untraced_request
from service.settings import DatabaseSettings

POOL_CLOSE_SECONDS = 2.0
PROBE_SECONDS = 1.0  # readiness's connect and statement timeout
POOL_RECYCLE_SECONDS = 1800
POOL_TIMEOUT_SECONDS = 5  # fail a request fast rather than queue it behind a dead database
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


@dataclass(slots=True)
class Database:
    """The engines, kept on the app's state: requests use `engine`, readiness `probe`;
    on PostgreSQL the hot statements use `pool`, asyncpg's own (open after `open`)."""

    engine: AsyncEngine
    probe: AsyncEngine
    settings: DatabaseSettings | None = None
    pool: asyncpg.Pool | None = None
    """asyncpg's pool for the hot statements (the INSERT of a POST), PostgreSQL only.

    SQLAlchemy's checkout and return of a connection (greenlet hops, pool events, a
    dependency to clean up) cost ~100 us of CPU a POST, more than the INSERT itself
    (benchmarks/README.md). SQLAlchemy keeps the schema, migrations and the other
    queries. DB_POOL_SIZE bounds each pool; this one opens connections only as needed.
    """

    async def open(self) -> None:
        """Open `pool` (no connection yet) on PostgreSQL, with the engine's exact options."""
        if self.settings is None or self.settings.is_sqlite or self.pool is not None:
            return
        _, found = self.engine.dialect.create_connect_args(self.engine.url)
        options: dict[str, Any] = {**found, **connect_args(self.settings)}
        self.pool = await asyncpg.create_pool(
            **options,
            min_size=0,
            max_size=self.settings.pool_size,
            max_inactive_connection_lifetime=POOL_RECYCLE_SECONDS,
            reset=keep_session,
        )

    def lease(self) -> Lease:
        """`async with database.lease() as lease:` one of `pool`'s asyncpg connections
        (call `open` first; PostgreSQL only)."""
        if self.pool is None:
            raise RuntimeError("Database.lease() needs the asyncpg pool: PostgreSQL, opened")
        return Lease(self.pool)

    async def ping(self) -> None:
        """Run `SELECT 1` on readiness's own connection; raises when it gets no answer.

        Never through the request pool: a pool held by slow requests (a lock, a heavy
        query) says nothing about whether this pod can reach its database, and waiting
        for it would turn every replica unready at once. A connection whose statement
        failed or was cancelled (the caller's timeout) is dropped, not reused.
        """
        with UntracedStatements():
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
            if self.pool is not None:
                await self.pool.close()
            await self.engine.dispose()
            if self.probe is not self.engine:
                await self.probe.dispose()
        if waited.cancelled_caught:
            log.warning("database connections dropped unclosed", seconds=POOL_CLOSE_SECONDS)

    def pool_status(self) -> dict[str, int]:
        """Connections by state, both request pools together, for the pool metrics
        (empty for unpooled SQLite)."""
        pool: Any = self.engine.pool
        if not hasattr(pool, "checkedout"):
            return {}
        status = {
            "size": pool.size(),
            "checked_out": pool.checkedout(),
            "idle": pool.checkedin(),
            "overflow": max(pool.overflow(), 0),
        }
        if self.pool is not None:
            idle = self.pool.get_idle_size()
            status["size"] += self.pool.get_max_size()
            status["checked_out"] += self.pool.get_size() - idle
            status["idle"] += idle
        return status


class Lease:
    """One asyncpg connection from the pool for the block (`async with database.lease()
    as lease:`), back to the pool after it; its statements run through `fetchrow`.

    Waiting for a free connection is bounded as SQLAlchemy's pool_timeout bounds it
    (TimeoutError: a 503 problem), by a coarse deadline (service/deadlines.py): neither
    acquire(timeout=), which runs the wait in a task of its own (~15 us a request), nor
    a timer per request. Statements keep asyncpg's command_timeout: on expiry asyncpg
    also asks the server to cancel the statement.
    """

    __slots__ = ("_connection", "_pool")

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool
        self._connection: Any = None

    async def __aenter__(self) -> Lease:
        with Deadline(POOL_TIMEOUT_SECONDS):
            self._connection = await self._pool.acquire()
        return self

    async def __aexit__(self, *_: object) -> None:
        await self._pool.release(self._connection)

    async def fetchrow(self, query: str, *args: object) -> asyncpg.Record | None:
        """The first row `query` returns, if any.

        In a request nobody records, asyncpg's own method, past the database
        instrumentation: its span would have no request span to join (and would be
        sampled as a trace of its own), and its wrapper, with the context switch that
        would silence it, cost ~6-10 us of a POST in process (benchmarks/README.md).
        Anywhere else (a recorded request, start-up) the instrumented one: a span.
        """
        if in_untraced_request():
            return await _ASYNCPG_FETCHROW(self._connection, query, *args)
        return await self._connection.fetchrow(query, *args)


# asyncpg's fetchrow under any instrumentation's wrapper: inspect.unwrap follows
# `__wrapped__`, which wrapt (OpenTelemetry's instrumentations) sets on what it wraps.
_ASYNCPG_FETCHROW = inspect.unwrap(asyncpg.Connection.fetchrow)


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
    return Database(engine=engine, probe=_probe_engine(settings), settings=settings)


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


async def keep_session(_connection: asyncpg.Connection) -> None:
    """asyncpg pool reset: nothing beyond asyncpg's own (an open transaction is rolled
    back, a cancelled statement awaited). The default also sends a reset query (advisory
    unlocks, UNLISTEN, RESET ALL): a round trip per request for session state this
    service never sets (every statement autocommits; its advisory lock is per transaction).
    """


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
        "pool_timeout": POOL_TIMEOUT_SECONDS,
        "pool_recycle": POOL_RECYCLE_SECONDS,
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
    with UntracedStatements():
        async with database.engine.connect() as connection:
            try:
                yield connection
            except TimeoutError:
                await connection.invalidate()
                raise
