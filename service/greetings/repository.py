"""The SQL behind greetings: one statement per operation, each atomic on its own.

The engine runs in autocommit: a single `INSERT ... ON CONFLICT DO NOTHING RETURNING`
needs no surrounding transaction, so a POST is one round trip.

The INSERT is the write hot path. On PostgreSQL it runs on asyncpg's own pool
(service/db.py, Database.pool; asyncpg prepares and caches it per connection):
SQLAlchemy's per-statement work (a greenlet hop, parameter and result processing)
and its connection checkout and return cost more CPU than the rest of the request
(benchmarks/README.md). Elsewhere (SQLite) it is the same statement through
SQLAlchemy, as a cached `text()`: SQLAlchemy 2.0 cannot cache the dialect-specific
`insert().on_conflict_do_nothing()`.

Pages never skip a committed row (docs/CONTRACTS.md, "Pagination"). Keyset pages by id
could: an insert draws id 5, a later one draws 6 and commits first, a page ends at 6,
then 5 commits behind the cursor. SQLite serialises writers, so ids commit in order
there. On PostgreSQL every insert holds WRITERS_LOCK (shared) from before it draws its
id until it commits, and a page first takes that lock exclusively for an instant: then
every id drawn so far is settled, and the page reads only up to the last of them.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, NamedTuple

from sqlalchemy import BigInteger, DateTime, RowMapping, String, bindparam, select, text
from sqlalchemy.ext.asyncio import AsyncConnection

from service.db import Database, Greeting
from service.greetings.schemas import greet

GREETINGS = Greeting.__table__
# The SQLite statement (>= 3.35): a NULL key never conflicts.
_INSERT_SQL = (
    "INSERT INTO greetings (name, message, idempotency_key, created_at) "
    "VALUES (:name, :message, :idempotency_key, :created_at) "
    "ON CONFLICT (idempotency_key) DO NOTHING "
    "RETURNING id, name, message, created_at"
)
# An advisory lock key of this service's own ("greeting" in ASCII), spelled out in the SQL.
WRITERS_LOCK = 0x6772656574696E67  # 7454131819670761063
# The PostgreSQL statement: the subquery behind OFFSET 0 (a fence the planner does not
# pull up) yields its row before the INSERT projects it, so the lock is held before
# nextval() draws the id, and until the commit. It starts with INSERT, the word the
# asyncpg instrumentation names the span after (a leading CTE made it "WITH").
PG_INSERT = (
    "INSERT INTO greetings (name, message, idempotency_key, created_at) "
    "SELECT $1::varchar, $2::varchar, $3::varchar, $4::timestamptz "
    "FROM (SELECT pg_advisory_xact_lock_shared(7454131819670761063) OFFSET 0) AS writer "
    "ON CONFLICT (idempotency_key) DO NOTHING "
    "RETURNING id, name, message, created_at"
)
# The row an idempotency key already stored (the INSERT above found it taken).
PG_EXISTING = "SELECT id, name, message, created_at FROM greetings WHERE idempotency_key = $1"
# Wait for the inserts in flight, then name the last id drawn: every id up to it is now
# committed or abandoned. The lock, taken in the subquery behind OFFSET 0 (as in PG_INSERT),
# is held before the outer SELECT reads the sequence, and until this statement's
# transaction ends. (Relies on the sequence's default CACHE 1: no session holds ids drawn
# in advance.) It starts with SELECT, the span's name (a leading CTE made it "WITH").
SETTLED_ID = text(
    "SELECT coalesce(pg_sequence_last_value("
    "pg_get_serial_sequence('greetings', 'id')::regclass), 0) "
    "FROM (SELECT pg_advisory_xact_lock(7454131819670761063) OFFSET 0) AS settled"
)
INSERT = (
    text(_INSERT_SQL)
    .bindparams(bindparam("created_at", type_=DateTime(timezone=True)))
    .columns(id=BigInteger, name=String, message=String, created_at=DateTime(timezone=True))
)
Row = Mapping[Any, Any]  # a SQLAlchemy RowMapping or an asyncpg Record, read by column name
COLUMNS = (
    GREETINGS.c.id,
    GREETINGS.c.name,
    GREETINGS.c.message,
    GREETINGS.c.created_at,
)


async def create(database: Database, name: str, idempotency_key: str | None) -> tuple[Row, bool]:
    """Insert a greeting and say so; for a key already used, return that key's row and False.

    The database, not the application, decides which of concurrent retries wins. On
    PostgreSQL both statements run on asyncpg's pool (Database.pool), not SQLAlchemy's.
    """
    new = NewGreeting(name, greet(name), idempotency_key, _now())
    if database.pool is not None:
        return await _create_on_pool(database, new)
    async with database.engine.connect() as connection:
        return await _create_on(connection, new)


class NewGreeting(NamedTuple):
    """The INSERT's parameters, in its order."""

    name: str
    message: str
    idempotency_key: str | None
    created_at: datetime


async def _create_on_pool(database: Database, new: NewGreeting) -> tuple[Row, bool]:
    async with database.lease() as lease:
        row: Row | None = await lease.fetchrow(PG_INSERT, *new)
        if row is not None:
            return row, True
        existing = await lease.fetchrow(PG_EXISTING, new.idempotency_key)
    if existing is None:  # as .one() below: greetings are never deleted, so it cannot be
        raise LookupError(f"no greeting holds Idempotency-Key {new.idempotency_key!r}")
    return existing, False


async def _create_on(connection: AsyncConnection, new: NewGreeting) -> tuple[Row, bool]:
    row = (await connection.execute(INSERT, new._asdict())).mappings().first()
    if row is not None:
        return row, True
    existing = select(*COLUMNS).where(GREETINGS.c.idempotency_key == new.idempotency_key)
    return (await connection.execute(existing)).mappings().one(), False


async def get(connection: AsyncConnection, greeting_id: int) -> RowMapping | None:
    """The greeting with this id, if any."""
    query = select(*COLUMNS).where(GREETINGS.c.id == greeting_id)
    return (await connection.execute(query)).mappings().first()


async def page(connection: AsyncConnection, after_id: int, limit: int) -> list[RowMapping]:
    """Up to `limit` greetings with ids above `after_id`, oldest first (keyset pagination).

    On PostgreSQL only rows up to the settled id: none below it can still appear. The
    bound is applied here, not in SQL, so the page's query and its plan stay the plain
    index range scan (as a second range bound in SQL it cost milliseconds a page on a
    table not yet analysed, against 0.1 ms).
    """
    query = select(*COLUMNS).where(GREETINGS.c.id > after_id).order_by(GREETINGS.c.id).limit(limit)
    if connection.dialect.name != "postgresql":
        return list((await connection.execute(query)).mappings())
    settled = await connection.scalar(SETTLED_ID)
    return [row for row in (await connection.execute(query)).mappings() if row["id"] <= settled]


def _now() -> datetime:
    return datetime.now(UTC)
