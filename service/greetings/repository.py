"""The SQL behind greetings: insert once per idempotency key, keyset pages."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from service.db import Greeting
from service.greetings.schemas import greet


async def create(
    session: AsyncSession, name: str, idempotency_key: str | None
) -> tuple[Greeting, bool]:
    """Insert a greeting and say so; for a key already used, return that key's row and False.

    `INSERT ... ON CONFLICT DO NOTHING` makes concurrent retries safe: the database,
    not the application, decides which request wins.
    """
    values = {"name": name, "message": greet(name), "idempotency_key": idempotency_key}
    insert: Any = postgresql.insert if _dialect(session) == "postgresql" else sqlite.insert
    statement = insert(Greeting).values(**values)
    if idempotency_key is not None:
        statement = statement.on_conflict_do_nothing(index_elements=["idempotency_key"])
    created = await session.scalar(statement.returning(Greeting))
    if created is None:
        existing = select(Greeting).where(Greeting.idempotency_key == idempotency_key)
        replayed = (await session.scalars(existing)).one()
        await session.commit()
        return replayed, False
    await session.commit()
    return created, True


async def get(session: AsyncSession, greeting_id: int) -> Greeting | None:
    """The greeting with this id, if any."""
    return await session.get(Greeting, greeting_id)


async def page(session: AsyncSession, after_id: int, limit: int) -> list[Greeting]:
    """Up to `limit` greetings with ids above `after_id`, oldest first (keyset pagination)."""
    query = select(Greeting).where(Greeting.id > after_id).order_by(Greeting.id).limit(limit)
    return list(await session.scalars(query))


def _dialect(session: AsyncSession) -> str:
    return session.get_bind().dialect.name
