"""The README's first run, as a newcomer types it, with the pip Python 3.11 ships and the
newest: `python3 -m venv .venv && .venv/bin/pip install -e . && .venv/bin/hello-api serve`.

Needs the package index (PIP_INDEX_URL or PyPI): skipped without it, a failure in CI.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.conftest import missing
from tests.support.postgres import free_port
from tests.support.server import ServerProcess

ROOT = Path(__file__).resolve().parents[2]
# The variables a person's shell would have; no database or APP_ENV (the zero-setup path).
KEPT = ("PATH", "HOME", "LANG", "SSL_CERT_FILE", "HTTPS_PROXY", "HTTP_PROXY", "NO_PROXY")


def clean_environment() -> dict[str, str]:
    """A shell's environment: pip's own settings (mirrors, certificates) and little else."""
    return {k: v for k, v in os.environ.items() if k in KEPT or k.startswith("PIP_")}


def require_index() -> None:
    """Skip (fail with CI=true) when the package index does not answer."""
    index = os.environ.get("PIP_INDEX_URL", "https://pypi.org/simple/")
    try:
        httpx.get(index.rstrip("/") + "/pip/", timeout=10, follow_redirects=True)
    except httpx.HTTPError as exc:
        missing(f"the package index {index} is unreachable ({type(exc).__name__})")


def run(*command: str | Path, cwd: Path) -> None:
    """Run a step of the first run; fail showing its output."""
    done = subprocess.run(
        [str(part) for part in command],
        cwd=cwd,
        env=clean_environment(),
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, f"{command} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"


@pytest.mark.parametrize("pip", ["pip==23.2.1", "pip"], ids=["pip 23.2.1", "newest pip"])
def test_a_fresh_venv_installs_and_serves(tmp_path: Path, pip: str) -> None:
    """A new venv with that pip installs the project editable and `hello-api serve`
    answers 200 on /health/ready (SQLite, migrated at start)."""
    require_index()
    venv = tmp_path / ".venv"
    run(Path(sys.base_prefix) / "bin" / "python3", "-m", "venv", venv, cwd=tmp_path)
    run(venv / "bin" / "python", "-m", "pip", "install", "--upgrade", pip, cwd=tmp_path)
    run(venv / "bin" / "pip", "install", "-e", ROOT, cwd=tmp_path)
    port = free_port()
    process = subprocess.Popen(
        [venv / "bin" / "hello-api", "serve"],
        cwd=tmp_path,
        env=clean_environment() | {"PORT": str(port)},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    server = ServerProcess(process=process, base_url=f"http://127.0.0.1:{port}")
    try:
        server.wait_for("/health/ready", 200, timeout=120)  # a cold venv compiles everything
    finally:
        code, output = server.stop()
    assert code == 0, output
