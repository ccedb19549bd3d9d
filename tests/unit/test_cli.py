"""The `hello-api` command line."""

from __future__ import annotations

import os
import socket
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from service.cli import main
from tests.support.engine_env import untraced


def test_migrate_creates_the_schema(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`hello-api migrate` applies the migrations and exits 0."""
    database = tmp_path / "m.db"
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{database}")
    assert main(["migrate"]) == 0
    tables = sqlite3.connect(database).execute("SELECT name FROM sqlite_master").fetchall()
    assert ("greetings",) in tables


def test_migrate_is_idempotent(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Running it twice (a re-synced PreSync Job) is fine."""
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'm.db'}")
    assert (main(["migrate"]), main(["migrate"])) == (0, 0)


def test_a_configuration_error_is_one_line_and_exit_2(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Production without a database: a message naming the variable, no traceback."""
    monkeypatch.setenv("APP_ENV", "production")
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.delenv("DB_HOST", raising=False)
    assert main(["serve"]) == 2
    error = capsys.readouterr().err
    assert "DATABASE_URL" in error
    assert "Traceback" not in error


def test_a_failed_migration_says_why_and_exits_1(
    monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    """An unreachable database fails the migration with one clear line (no network used:
    port 1 on loopback refuses at once)."""
    monkeypatch.setenv("DATABASE_URL", "postgresql://nobody@127.0.0.1:1/none")
    assert main(["migrate"]) == 1
    assert "migration failed" in capfd.readouterr().out


def test_a_failed_start_up_is_logged_with_its_cause(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    """When start-up fails (here: the development migration), the log says why."""
    from litestar.testing import TestClient

    from service.app import create_app
    from service.settings import Settings

    url = f"sqlite+aiosqlite:///{tmp_path / 'missing-dir' / 'x.db'}"
    app = create_app(Settings.from_env({"DATABASE_URL": url}))
    with pytest.raises(Exception), TestClient(app):  # noqa: B017, PT011  (any failure will do)
        pass
    out = capfd.readouterr().out
    assert '"event":"start-up failed"' in out
    assert "unable to open database file" in out


def test_serving_never_imports_what_only_other_commands_need() -> None:
    """Alembic (migrate) and the OTLP exporter (tracing on) stay out of a plain serve's
    start-up (no OTLP endpoint), which the ready-within-1-s goal counts."""
    serve_path = (
        "import sys; from service import cli, server; from service.app import create_app; "
        "from service.settings import Settings; "
        "create_app(Settings.from_env({'APP_ENV': 'test'})); print(*sys.modules)"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", serve_path],
        env=untraced(os.environ),
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert not [name for name in loaded if name.split(".")[0] in {"alembic", "mako"}]
    assert "opentelemetry.exporter.otlp.proto.http" not in loaded


def run_cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """`python -m service ARGS` as a person runs it, with `env` over a clean environment."""
    return subprocess.run(
        [sys.executable, "-m", "service", *args],
        env={**untraced(os.environ), **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_a_taken_port_is_one_line_and_exit_2(tmp_path: Path) -> None:
    """Another process listens on PORT: one line naming it on stderr, nothing else."""
    with socket.socket() as taken:
        taken.bind(("0.0.0.0", 0))
        taken.listen()
        port = taken.getsockname()[1]
        env = {"PORT": str(port), "DATABASE_URL": f"sqlite:///{tmp_path / 'p.db'}"}
        done = run_cli("serve", env=env)
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1, done.stderr
    assert f"PORT={port}" in done.stderr
    assert "in use" in done.stderr
    assert done.stdout == ""


def test_a_bad_setting_at_the_command_line_is_one_line_and_exit_2() -> None:
    """PORT=eighty: one line naming PORT, exit 2, no traceback."""
    done = run_cli("serve", env={"PORT": "eighty"})
    assert (done.returncode, done.stderr.count("\n"), done.stdout) == (2, 1, "")
    assert "PORT must be a whole number" in done.stderr
