"""The module installed the way Dagger's Python runtime installs it, then registered.

A real engine once could not load the module at all while every plan test was
green: the runtime vendors the engine's SDK source into pipeline/sdk at version
0.0.0, runs `uv pip install -e ./sdk -e . --no-deps -r requirements.lock` and then
`uv pip check`, which rejected our `dagger-io==0.21.11` pin
(../shared/docs/dagger-offline.md, "How the Python SDK runtime installs a module").
These tests repeat those steps with the real uv and the dagger-io source release,
then register the module from that environment with the fake engine (a plan check,
not an execution: no Dagger engine can run here).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import missing
from tests.pipeline.fake_engine import FakeEngine
from tests.pipeline.tools import ROOT, tool

SDK_SOURCE = ROOT / ".tools" / "dagger-sdk" / "src"
# What the runtime leaves out of its copy of the SDK.
NOT_VENDORED = ("src/dagger/_engine", "src/dagger/provisioning")
# The sdist's tables for the SDK's own development workspace (its `codegen` member is
# not in the sdist); uv refuses to build it with them, and the runtime never reads them.
WORKSPACE_TABLES = re.compile(r"\n\[tool\.uv\.(?:sources|workspace)\]\n(?:(?!\n\[).)*", re.S)


@dataclass
class Installed:
    """A module directory laid out as in the engine, and its environment."""

    module: Path
    python: Path
    install: subprocess.CompletedProcess[str]
    check: subprocess.CompletedProcess[str]


def _vendor_sdk(dest: Path) -> None:
    if not SDK_SOURCE.is_dir():
        missing(f"the dagger-io source is not at {SDK_SOURCE}: run scripts/tools/dagger-runtime.sh")
    shutil.copytree(SDK_SOURCE, dest)
    for part in NOT_VENDORED:
        shutil.rmtree(dest / part, ignore_errors=True)
    project = dest / "pyproject.toml"
    text = re.sub(r'(?m)^version = ".*"$', 'version = "0.0.0"', project.read_text(), count=1)
    project.write_text(WORKSPACE_TABLES.sub("\n", text))


def _install(base: Path, pyproject_edit: tuple[str, str] | None = None) -> Installed:
    """Copy pipeline/ and the SDK as the runtime does, then install and check with uv."""
    module = base / "pipeline"
    shutil.copytree(ROOT / "pipeline", module, ignore=shutil.ignore_patterns("sdk", "__pycache__"))
    _vendor_sdk(module / "sdk")
    if pyproject_edit:
        project = module / "pyproject.toml"
        project.write_text(project.read_text().replace(*pyproject_edit))
    uv, venv = tool("uv"), base / "venv"
    env = {**os.environ, "VIRTUAL_ENV": str(venv), "UV_LINK_MODE": "copy"}
    subprocess.run([uv, "venv", "-q", "-p", sys.executable, str(venv)], check=True, env=env)
    steps = [["pip", "install", "-e", "./sdk", "-e", ".", "--no-deps", "-r", "requirements.lock"],
             ["pip", "check"]]  # fmt: skip
    install, check = (
        subprocess.run([uv, *s], cwd=module, env=env, capture_output=True, text=True, timeout=600)
        for s in steps
    )
    return Installed(module, venv / "bin" / "python", install, check)


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Installed:
    """The module installed as the runtime installs it (no uv.lock: the pip path)."""
    return _install(tmp_path_factory.mktemp("runtime"))


def test_the_runtime_install_and_check_pass(installed: Installed) -> None:
    """`uv pip install -e ./sdk -e . --no-deps -r requirements.lock` and `uv pip check` pass."""
    assert installed.install.returncode == 0, installed.install.stderr
    assert installed.check.returncode == 0, installed.check.stdout + installed.check.stderr


def test_the_vendored_sdk_reports_version_zero(installed: Installed) -> None:
    """The environment really has the engine's layout: dagger-io 0.0.0, editable."""
    code = "import importlib.metadata as m; print(m.version('dagger-io'))"
    done = subprocess.run([installed.python, "-c", code], capture_output=True, text=True)
    assert done.stdout.strip() == "0.0.0", done.stderr


def test_the_module_registers_from_that_environment(installed: Installed) -> None:
    """`dagger functions`' registration runs with the vendored SDK and returns the module."""
    with FakeEngine() as engine:
        env = {
            **os.environ,
            **engine.env(),
            "DAGGER_MODULE": "pipeline",
            "DAGGER_MAIN_OBJECT": "Pipeline",
        }
        code = "from dagger.mod.cli import app; raise SystemExit(app())"
        done = subprocess.run(
            [installed.python, "-c", code], env=env, capture_output=True, text=True, timeout=120
        )
        assert done.returncode == 0, done.stderr
        (returned,) = engine.called("returnValue")
        assert engine.objects[json.loads(returned.args["value"])].find("withObject")


def test_a_bound_on_dagger_io_fails_the_check(tmp_path: Path) -> None:
    """The harness can fail: the old `dagger-io==0.21.11` pin is rejected as on the engine."""
    pinned = _install(tmp_path, ('"dagger-io",', '"dagger-io==0.21.11",'))
    assert pinned.check.returncode != 0
    assert "dagger-io==0.21.11" in pinned.check.stdout + pinned.check.stderr
