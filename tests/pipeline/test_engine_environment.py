"""The checks' exact commands pass in the environment a real Dagger engine gives every exec.

Executions on this machine, not plans: each command comes from pipeline.workspace (the
builder the `lint`, `test` and `integration` steps use) and runs in the repository root
with os.environ, the engine's variables (tests/support/engine_env.py, the OTLP endpoint
dead) and CI=true, as in the step. The tools are this venv's: `install()` is not re-run.
The test runs are pytest inside pytest: their marker keeps them out of tests/pipeline,
and their coverage data and pytest cache stay out of the outer run's way.
"""

import os
import subprocess
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest

from pipeline import workspace
from tests.pipeline.tools import ROOT
from tests.support.engine_env import dead_endpoint, engine_environment
from tests.support.postgres import SUPERUSER, throwaway_cluster

TAIL = 40  # lines of a failed command's output shown in the assertion
TIMEOUT = 600  # seconds; a green nested run takes well under a minute here


def step_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """What the step's exec sees: os.environ, the engine's variables, CI=true; tools on PATH."""
    return {
        **os.environ,
        **engine_environment(dead_endpoint()),
        "CI": "true",
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "COVERAGE_FILE": str(tmp_path / ".coverage"),  # not the outer run's .coverage
        "PYTEST_ADDOPTS": "-p no:cacheprovider",  # the outer run owns .pytest_cache
        **extra,
    }


def run_step(argv: list[str], env: Mapping[str, str]) -> None:
    """Run one command in the repository root; on failure show the tail of its output
    (only that: a traceback would print `env`, which may hold the CI's secrets)."""
    command = " ".join(argv)
    try:
        done = subprocess.run(
            argv, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            timeout=TIMEOUT, check=False,
        )  # fmt: skip
    except subprocess.TimeoutExpired as slow:
        pytest.fail(f"{command} ran over {TIMEOUT} s:\n{tail(slow.output)}", pytrace=False)
    if done.returncode != 0:
        pytest.fail(f"{command} exited {done.returncode}:\n{tail(done.stdout)}", pytrace=False)


def tail(output: bytes | None) -> str:
    """The last TAIL lines of a command's output."""
    return "\n".join((output or b"").decode(errors="replace").splitlines()[-TAIL:])


@pytest.fixture
def database_server() -> Iterator[dict[str, str]]:
    """A PostgreSQL server named by DB_*, as the integration step binds `db` (with_database)."""
    with throwaway_cluster() as cluster:
        cluster.create_database("hello")  # the image's POSTGRES_DB
        # As in the step: the server comes from DB_* alone, no URL of this machine's.
        yield {"APP_ENV": "test", "DB_HOST": "127.0.0.1", "DB_PORT": str(cluster.port),
               "DB_NAME": "hello", "DB_USER": SUPERUSER, "DATABASE_URL": "",
               "TEST_DATABASE_URL": ""}  # fmt: skip


@pytest.mark.parametrize("argv", workspace.lint(), ids=" ".join)
def test_lint_commands_pass_under_the_engine(argv: list[str], tmp_path: Path) -> None:
    """ruff and mypy, exactly as the lint step runs them, pass with the engine's variables."""
    run_step(argv, step_env(tmp_path))


def test_unit_test_step_passes_under_the_engine(tmp_path: Path) -> None:
    """The unit tests and their coverage gate pass with OTEL_* and TRACEPARENT present,
    the collector's endpoint dead: no test depends on what the engine injects."""
    run_step(workspace.unit_tests(), step_env(tmp_path))


def test_integration_step_passes_under_the_engine(
    tmp_path: Path, database_server: dict[str, str]
) -> None:
    """The integration tests pass against a server named by DB_*, with the engine's variables."""
    run_step(workspace.integration_tests(), step_env(tmp_path, **database_server))
