"""Client mode: `python -m pipeline <function>` without the Dagger CLI.

The first test is a plan check against the fake engine, not an execution (no
Dagger engine can run here): it joins the fake session through
DAGGER_SESSION_PORT as `dagger run` would. The others check that, where no
engine can start, the command fails fast with one sentence and no traceback.
"""

import os
import subprocess
import sys
from pathlib import Path

from tests.pipeline.fake_engine import FakeEngine
from tests.pipeline.plan_helpers import argv, exec_leaf
from tests.pipeline.tools import ROOT


def _run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("DAGGER_")}
    command = [sys.executable, "-m", "pipeline", *args]
    env = base | env
    return subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)


def test_client_mode_runs_the_function_on_the_current_directory() -> None:
    """`python -m pipeline lint` sends the same lint plan, with the cwd as source."""
    with FakeEngine() as engine:
        done = _run(["lint"], engine.env())
        assert done.returncode == 0, done.stderr
        source = engine.leaf("directory", lambda c: c.parent.field == "host")
        assert source.args["path"] == str(ROOT)
        assert argv(exec_leaf(engine, "mypy"))[-1] == ["mypy"]


def test_without_an_engine_it_fails_in_one_sentence(tmp_path: Path) -> None:
    """No session and no container runtime on PATH: exit 2 and one clear line."""
    done = _run(["ci"], {"PATH": str(tmp_path)})
    assert done.returncode == 2
    assert done.stderr.startswith("No Dagger engine can start here")
    assert len(done.stderr.strip().splitlines()) == 1


def test_a_failing_engine_start_is_one_line_not_a_traceback(tmp_path: Path) -> None:
    """A runtime but no startable engine (here a CLI that exits 1): one line, exit 1."""
    (tmp_path / "docker").symlink_to("/bin/true")
    env = {"PATH": f"{tmp_path}:/usr/bin:/bin", "_EXPERIMENTAL_DAGGER_CLI_BIN": "/bin/false"}
    done = _run(["lint"], env)
    assert done.returncode == 1
    assert done.stderr.strip().splitlines()[-1].startswith("pipeline lint failed: ")
    assert "Traceback" not in done.stderr


def test_unknown_function_prints_the_usage() -> None:
    """A name that is not a function lists the functions instead."""
    done = _run(["deploy-everything"], {})
    assert done.returncode == 2
    assert "|lint|publish|sbom|scan|serve|sign|smoke|test|verify>" in done.stdout
