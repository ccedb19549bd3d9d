"""The SQL behind greetings: one statement per operation, each atomic on its own.

The engine runs in autocommit: a single `INSERT ... ON CONFLICT DO NOTHING RETURNING`
needs no surrounding transaction, so a POST is one round trip.

The INSERT is the write hot path. On PostgreSQL it runs on the pooled connection's
asyncpg driver itself (asyncpg prepares and caches it per connection): SQLAlchemy's
per-statement work (a greenlet hop, parameter and result processing) cost more CPU
than the rest of the request (benchmarks/README.md). Elsewhere (SQLite) it is the
same statement through SQLAlchemy, as a cached `text()`: SQLAlchemy 2.0 cannot
cache the dialect-specific `insert().on_conflict_do_nothing()`.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import BigInteger, DateTime, RowMapping, String, bindparam, select, text
from sqlalchemy.ext.asyncio import AsyncConnection

from service.db import Greeting
from service.greetings.schemas import greet

GREETINGS = Greeting.__table__
# Valid on PostgreSQL and SQLite (>= 3.35): a NULL key never conflicts.
_INSERT_SQL = (
    "INSERT INTO greetings (name, message, idempotency_key, created_at) "
    "VALUES (:name, :message, :idempotency_key, :created_at) "
    "ON CONFLICT (idempotency_key) DO NOTHING "
    "RETURNING id, name, message, created_at"
)
# The same statement in asyncpg's numbered placeholders, in the order of `_values`.
PG_INSERT = (
    _INSERT_SQL.replace(":name", "$1")
    .replace(":message", "$2")
    .replace(":idempotency_key", "$3")
    .replace(":created_at", "$4")
)
INSERT = (
    text(_INSERT_SQL)
    .bindparams(bindparam("created_at", type_=DateTime(timezone=True)))
    .columns(id=BigInteger, name=String, message=String, created_at=DateTime(timezone=True))
)
Row = Mapping[Any, Any]  # a SQLAlchemy RowMapping or an asyncpg Record, read by column name
COLUMNS = (GREETINGS.c.id, GREETINGS.c.name, GREETINGS.c.message, GREETINGS.c.created_at)


async def create(
    connection: AsyncConnection, name: str, idempotency_key: str | None
) -> tuple[Row, bool]:
    """Insert a greeting and say so; for a key already used, return that key's row and False.

    The database, not the application, decides which of concurrent retries wins.
    """
    row = await _insert(connection, name, greet(name), idempotency_key, _now())
    if row is not None:
        return row, True
    existing = select(*COLUMNS).where(GREETINGS.c.idempotency_key == idempotency_key)
    return (await connection.execute(existing)).mappings().one(), False


async def _insert(connection: AsyncConnection, *values: Any) -> Row | None:
    """The new row, or None when the idempotency key is already taken."""
    if connection.dialect.name == "postgresql":
        driver: Any = (await connection.get_raw_connection()).driver_connection  # asyncpg's
        row: Row | None = await driver.fetchrow(PG_INSERT, *values)
        return row
    named = dict(zip(("name", "message", "idempotency_key", "created_at"), values, strict=True))
    return (await connection.execute(INSERT, named)).mappings().first()


async def get(connection: AsyncConnection, greeting_id: int) -> RowMapping | None:
    """The greeting with this id, if any."""
    query = select(*COLUMNS).where(GREETINGS.c.id == greeting_id)
    return (await connection.execute(query)).mappings().first()


async def page(connection: AsyncConnection, after_id: int, limit: int) -> list[RowMapping]:
    """Up to `limit` greetings with ids above `after_id`, oldest first (keyset pagination)."""
    query = select(*COLUMNS).where(GREETINGS.c.id > after_id).order_by(GREETINGS.c.id).limit(limit)
    return list((await connection.execute(query)).mappings())


def _now() -> datetime:
    return datetime.now(UTC)
