"""`hello-api migrate` on a real PostgreSQL: a rollback meets a newer schema, and TLS.

The rollback case is Argo CD's revert: the previous image's PreSync Job runs its
`migrate` against a database the newer release already migrated.
"""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import time
import uuid
from pathlib import Path

import asyncpg
import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from service import migrations
from service.settings import database_settings
from tests.integration.conftest import run_migrate
from tests.support.postgres import Cluster
from tests.support.server import ServerProcess

LATER_MIGRATION = '''"""A later release adds a nullable column (expand only)."""

import sqlalchemy as sa
from alembic import op

revision = "9002"
down_revision = "{head}"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("greetings", sa.Column("note", sa.String(32), nullable=True))


def downgrade() -> None:
    op.drop_column("greetings", "note")
'''


@pytest.fixture
def fresh_database(postgres_cluster: Cluster) -> str:
    """An empty database on the private cluster."""
    return postgres_cluster.create_database(f"migrate_{uuid.uuid4().hex[:8]}")


def migrate_with_a_later_release(url: str, tmp_path: Path) -> None:
    """What the next release's `migrate` does: our versions plus one more revision."""
    scripts = tmp_path / "migrations"
    shutil.copytree(migrations.HERE, scripts, ignore=shutil.ignore_patterns("__pycache__"))
    head = migrations.heads(migrations.code_graph(migrations.alembic_config())).pop()
    (scripts / "versions" / "9002_note.py").write_text(LATER_MIGRATION.format(head=head))
    config = migrations.alembic_config()
    config.set_main_option("script_location", str(scripts))
    settings = database_settings({"DATABASE_URL": url}, required=True)
    assert migrations.upgrade(settings, config).code == ("9002",)


def test_the_previous_release_leaves_a_newer_database_alone_and_serves(
    fresh_database: str, tmp_path: Path
) -> None:
    """Rollback: the newer release migrated to 9002; this code's migrate logs that the
    database is ahead, exits 0 without touching it, and the server gets ready on it."""
    migrate_with_a_later_release(fresh_database, tmp_path)
    done = run_migrate(fresh_database)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "database is ahead of this code" in done.stdout
    assert rows(fresh_database, "SELECT version_num FROM alembic_version") == [("9002",)]
    env = {"APP_ENV": "production", "DATABASE_URL": fresh_database}
    server = ServerProcess.start(env, ready_path="/health/ready")
    try:
        created = httpx.post(server.base_url + "/api/v1/greetings", json={"name": "Ada"})
        assert created.status_code == 201, created.text
    finally:
        server.stop()


def test_an_unknown_revision_fails_in_one_line(fresh_database: str) -> None:
    """A revision neither ours nor descended from ours: exit 1, one error line naming it."""
    assert run_migrate(fresh_database).returncode == 0
    rows(fresh_database, "UPDATE alembic_version SET version_num = 'beef'")
    done = run_migrate(fresh_database)
    assert done.returncode == 1
    errors = [line for line in done.stdout.splitlines() if '"level":"error"' in line]
    assert len(errors) == 1, done.stdout
    assert "UnknownRevisionError" in errors[0]
    assert "beef" in errors[0]
    assert "Traceback" not in done.stdout + done.stderr


def test_migrate_refuses_a_server_without_tls_when_tls_is_required(fresh_database: str) -> None:
    """DB_SSL=require, as the app reads it: the private cluster has no TLS, so migrate
    fails before it runs any statement (no alembic_version table appears)."""
    done = run_migrate(fresh_database, DB_SSL="require")
    assert done.returncode == 1, done.stdout
    assert "migration failed" in done.stdout
    assert "SSL" in done.stdout or "ssl" in done.stdout
    tables = "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"
    assert rows(fresh_database, tables) == [(0,)]
    assert run_migrate(fresh_database, DB_SSL="disable").returncode == 0  # the same server


def rows(url: str, statement: str) -> list[tuple[object, ...]]:
    """Run one statement in its own transaction; return its rows (none for an update)."""

    async def run() -> list[tuple[object, ...]]:
        engine = create_async_engine(url)
        try:
            async with engine.begin() as connection:
                result = await connection.execute(text(statement))
                return [tuple(row) for row in result] if result.returns_rows else []
        finally:
            await engine.dispose()

    return asyncio.run(run())


def test_a_migration_waits_for_one_already_running(fresh_database: str) -> None:
    """Jobs take turns (a retry overlapping a run): while another session holds the
    migration lock, migrate waits for it, then succeeds."""
    waiting = "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"

    async def hold_lock_while_migrate_waits() -> subprocess.CompletedProcess[str]:
        holder = await asyncpg.connect(fresh_database.replace("+asyncpg", ""))
        try:
            await holder.execute(f"SELECT pg_advisory_lock({migrations.ADVISORY_LOCK_KEY})")
            job = asyncio.create_task(asyncio.to_thread(run_migrate, fresh_database))
            deadline = time.monotonic() + 60
            while await holder.fetchval(waiting) == 0:
                assert not job.done(), "migrate ran without waiting for the lock"
                assert time.monotonic() < deadline, "migrate never waited for the lock"
                await asyncio.sleep(0.05)
            await holder.execute(f"SELECT pg_advisory_unlock({migrations.ADVISORY_LOCK_KEY})")
            return await job
        finally:
            await holder.close()

    done = asyncio.run(hold_lock_while_migrate_waits())
    assert done.returncode == 0, done.stdout
