"""The SQL behind greetings: one statement per operation, each atomic on its own.

The engine runs in autocommit: a single `INSERT ... ON CONFLICT DO NOTHING RETURNING`
needs no surrounding transaction, so a POST is one round trip. The INSERT is a
`text()` statement because SQLAlchemy 2.0 cannot cache the dialect-specific
`insert().on_conflict_do_nothing()`, and compiling it on every request cost about
40% of a POST's CPU (benchmarks/README.md).
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import BigInteger, DateTime, RowMapping, String, bindparam, select, text
from sqlalchemy.ext.asyncio import AsyncConnection

from service.db import Greeting
from service.greetings.schemas import greet

GREETINGS = Greeting.__table__
# Valid on PostgreSQL and SQLite (>= 3.35): a NULL key never conflicts.
INSERT = (
    text(
        "INSERT INTO greetings (name, message, idempotency_key, created_at) "
        "VALUES (:name, :message, :idempotency_key, :created_at) "
        "ON CONFLICT (idempotency_key) DO NOTHING "
        "RETURNING id, name, message, created_at"
    )
    .bindparams(bindparam("created_at", type_=DateTime(timezone=True)))
    .columns(id=BigInteger, name=String, message=String, created_at=DateTime(timezone=True))
)
COLUMNS = (GREETINGS.c.id, GREETINGS.c.name, GREETINGS.c.message, GREETINGS.c.created_at)


async def create(
    connection: AsyncConnection, name: str, idempotency_key: str | None
) -> tuple[RowMapping, bool]:
    """Insert a greeting and say so; for a key already used, return that key's row and False.

    The database, not the application, decides which of concurrent retries wins.
    """
    values = {"name": name, "message": greet(name), "idempotency_key": idempotency_key}
    created = (await connection.execute(INSERT, values | {"created_at": _now()})).mappings()
    row = created.first()
    if row is not None:
        return row, True
    existing = select(*COLUMNS).where(GREETINGS.c.idempotency_key == idempotency_key)
    return (await connection.execute(existing)).mappings().one(), False


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
