"""The ahead-of-code decision of `hello-api migrate`, and its record, on SQLite."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from service.cli import main
from service.migrations import UnknownRevisionError, plan

OURS = {"0001": (), "0002": ("0001",)}


def test_a_known_revision_is_upgraded() -> None:
    """Behind or current: upgrade (Alembic does nothing when current)."""
    assert plan(["0001"], OURS, {}).action == "upgrade"
    assert plan([], OURS, {}).action == "upgrade"


def test_a_revision_descending_from_our_head_is_ahead() -> None:
    """Two releases later, recorded by the newer code: ahead, left alone."""
    recorded = {**OURS, "0003": ("0002",), "0004": ("0003",)}
    decided = plan(["0004"], OURS, recorded)
    assert (decided.action, decided.database, decided.code) == ("ahead", ("0004",), ("0002",))


def test_a_revision_off_another_branch_is_unknown() -> None:
    """Descends from our 0001 but not from our head 0002: fails, naming both."""
    recorded = {"0001": (), "0002b": ("0001",)}
    with pytest.raises(UnknownRevisionError, match=r"0002b.*head 0002"):
        plan(["0002b"], OURS, recorded)


def test_a_revision_nobody_recorded_is_unknown() -> None:
    """No record (an older migrate, another app's database): fails."""
    with pytest.raises(UnknownRevisionError):
        plan(["beef"], OURS, {})


def test_migrate_records_the_revisions_it_knows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """alembic_revisions lists each revision with its parents, for older code to read."""
    database = tmp_path / "m.db"
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{database}")
    assert main(["migrate"]) == 0
    recorded = sqlite3.connect(database).execute("SELECT * FROM alembic_revisions").fetchall()
    assert recorded == [("0001", "")]


@pytest.fixture
def ahead(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A SQLite database (DATABASE_URL) a newer release moved to 0009, child of our 0001."""
    database = tmp_path / "m.db"
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{database}")
    assert main(["migrate"]) == 0
    with sqlite3.connect(database) as db:
        db.execute("INSERT INTO alembic_revisions VALUES ('0009', '0001')")
        db.execute("UPDATE alembic_version SET version_num = '0009'")
    return database


def test_migrate_leaves_a_database_ahead_alone(
    ahead: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    """A later revision recorded by newer code: exit 0, the version unchanged."""
    database = ahead
    assert main(["migrate"]) == 0
    assert "database is ahead of this code" in capfd.readouterr().out
    version = sqlite3.connect(database).execute("SELECT * FROM alembic_version").fetchall()
    assert version == [("0009",)]


@pytest.mark.usefixtures("ahead")
def test_development_start_up_serves_on_a_database_ahead() -> None:
    """The development server migrates on start; on a newer database it serves as is."""
    from litestar.testing import TestClient

    from service.app import create_app
    from service.settings import Settings

    with TestClient(create_app(Settings.from_env())) as client:
        assert client.get("/health/ready").status_code == 200
