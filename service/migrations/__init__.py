"""Alembic migrations; `hello-api migrate` applies them, and never to a database ahead of it.

Rolling back a release runs the *previous* image's `migrate` against a database the
newer release already migrated (Argo CD's PreSync Job on the revert commit). That works
because releases follow expand/contract: a migration may only add (tables, nullable
columns, indexes); removing what an older release still reads waits for a later release.
The older code then serves on the newer schema, and its `migrate` must leave it alone.

Alembic's `alembic_version` names only the database's current revision, which older code
cannot place. So every run also records the revision graph its code knows in
`alembic_revisions` (revision -> parents), beside `alembic_version`. Code that meets a
revision it does not know looks it up there: when its own head is an ancestor, the
database is *ahead* (log it, exit 0, touch nothing); otherwise the revision is unknown
(a diverged branch, another application's database) and `migrate` fails saying so.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Column, Connection, MetaData, String, Table, inspect, pool, select, text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from service.db import connect_args
from service.settings import DatabaseSettings

HERE = Path(__file__).parent
# Alembic 1.20 announces each of its autogenerate plugins at INFO on every run: noise here.
logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)
Graph = Mapping[str, tuple[str, ...]]  # revision -> its parents (down revisions)
# One migrate at a time per PostgreSQL database (an Argo CD retry overlapping a Job
# still running): a transaction-scoped advisory lock, released at commit or rollback.
ADVISORY_LOCK_KEY = 0x68656C6C6F  # "hello"

REVISIONS = Table(
    "alembic_revisions",
    MetaData(),
    Column("revision", String(64), primary_key=True),
    Column("parents", String(255), nullable=False),  # space-separated; empty for the first
)


class UnknownRevisionError(RuntimeError):
    """The database is at a revision that is neither this code's nor ahead of it."""


@dataclass(frozen=True)
class Plan:
    """What `migrate` does with a database: upgrade it, or leave it (it is ahead)."""

    action: Literal["upgrade", "ahead"]
    database: tuple[str, ...]
    code: tuple[str, ...]


def plan(database: Collection[str], ours: Graph, recorded: Graph) -> Plan:
    """Decide from the database's heads, this code's graph and the recorded graph.

    Raises UnknownRevisionError when the database is at a revision this code does not know
    and that does not descend from this code's head(s).
    """
    code_heads = tuple(sorted(heads(ours)))
    current = tuple(sorted(database))
    unknown = [revision for revision in current if revision not in ours]
    if not unknown:
        return Plan("upgrade", current, code_heads)
    if len(unknown) == len(current) and set(code_heads) <= ancestors(unknown, recorded):
        return Plan("ahead", current, code_heads)
    raise UnknownRevisionError(
        f"the database is at revision {', '.join(unknown)}, which this code does not know "
        f"and which does not descend from its head {', '.join(code_heads)}"
    )


def heads(graph: Graph) -> set[str]:
    """Revisions that are nobody's parent."""
    parents = {parent for revision_parents in graph.values() for parent in revision_parents}
    return set(graph) - parents


def ancestors(revisions: Iterable[str], graph: Graph) -> set[str]:
    """Every revision reachable through parents in `graph` (the starting ones excluded)."""
    found: set[str] = set()
    todo = [parent for revision in revisions for parent in graph.get(revision, ())]
    while todo:
        revision = todo.pop()
        if revision not in found:
            found.add(revision)
            todo.extend(graph.get(revision, ()))
    return found


def alembic_config() -> Config:
    """Alembic's configuration, without an alembic.ini: everything lives in the package."""
    config = Config()
    config.set_main_option("script_location", str(HERE))
    return config


def upgrade(settings: DatabaseSettings, config: Config | None = None) -> Plan:
    """`hello-api migrate`: connect exactly as the app does (DB_SSL included) and migrate."""
    engine = create_async_engine(
        settings.url, poolclass=pool.NullPool, connect_args=connect_args(settings)
    )
    return asyncio.run(_upgrade_and_dispose(engine, config or alembic_config()))


async def _upgrade_and_dispose(engine: AsyncEngine, config: Config) -> Plan:
    try:
        return await upgrade_engine(engine, config)
    finally:
        await engine.dispose()


async def upgrade_engine(engine: AsyncEngine, config: Config | None = None) -> Plan:
    """Migrate over `engine` in one transaction (development start-up uses the app's)."""
    async with engine.begin() as connection:
        return await connection.run_sync(_upgrade_on, config or alembic_config())


def _upgrade_on(connection: Connection, config: Config) -> Plan:
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": ADVISORY_LOCK_KEY})
    ours = code_graph(config)
    current = MigrationContext.configure(connection).get_current_heads()
    decided = plan(current, ours, recorded_graph(connection))
    if decided.action == "upgrade":
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
        record(connection, ours)
    return decided


def code_graph(config: Config) -> dict[str, tuple[str, ...]]:
    """The revisions in this code's versions/ directory and their parents."""
    script = ScriptDirectory.from_config(config)
    return {rev.revision: _parents(rev.down_revision) for rev in script.walk_revisions()}


def _parents(down_revision: str | Iterable[str] | None) -> tuple[str, ...]:
    if down_revision is None:
        return ()
    return (down_revision,) if isinstance(down_revision, str) else tuple(down_revision)


def recorded_graph(connection: Connection) -> dict[str, tuple[str, ...]]:
    """What every `migrate` so far has recorded (empty before the first)."""
    if not inspect(connection).has_table(REVISIONS.name):
        return {}
    rows = connection.execute(select(REVISIONS.c.revision, REVISIONS.c.parents))
    return {revision: tuple(parents.split()) for revision, parents in rows}


def record(connection: Connection, ours: Graph) -> None:
    """Add this code's revisions to `alembic_revisions` (created on first use)."""
    REVISIONS.create(connection, checkfirst=True)
    missing = set(ours) - set(recorded_graph(connection))
    if missing:
        rows = [{"revision": rev, "parents": " ".join(ours[rev])} for rev in sorted(missing)]
        connection.execute(REVISIONS.insert(), rows)
