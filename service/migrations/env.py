"""Alembic environment: migrations on the connection `service.migrations` opens.

That connection is made exactly as the app makes its own (DB_SSL included), and the
ahead-of-code check has already run on it; so there is no second way in here.
"""

from __future__ import annotations

from typing import Any

from alembic import context

from service.db import Base
from service.migrations import REVISIONS


def _ours(name: str | None, type_: str, _parent: Any) -> bool:
    """Autogenerate compares only the app's tables, never Alembic's revision record."""
    return not (type_ == "table" and name == REVISIONS.name)


connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through service.migrations (hello-api migrate)")
context.configure(connection=connection, target_metadata=Base.metadata, include_name=_ours)
with context.begin_transaction():
    context.run_migrations()
