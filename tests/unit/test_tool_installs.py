"""scripts/tools/lib.bash: a long first install says it is alive, and how long it took."""

from __future__ import annotations

import subprocess
from pathlib import Path

LIB = Path(__file__).resolve().parents[2] / "scripts" / "tools" / "lib.bash"


def install(tmp_path: Path, body: str) -> subprocess.CompletedProcess[str]:
    """Source lib.bash with .tools in tmp_path, define install_slow as `body`, run it once."""
    log = tmp_path / "stderr.log"
    script = (
        f"set -euo pipefail; source {LIB}; install_slow() {{ {body}; }}; "
        f"install_once slow v1 slow 2>>{log}"
    )
    env = {"PATH": "/usr/bin:/bin", "TOOLS_DIR": str(tmp_path / "tools")}
    env |= {"TOOLS_HEARTBEAT_SECONDS": "0.2", "LOG": str(log)}
    done = subprocess.run(
        ["bash", "-c", script], env=env, capture_output=True, text=True, timeout=60, check=False
    )
    return subprocess.CompletedProcess(done.args, done.returncode, done.stdout, log.read_text())


def test_a_long_install_prints_a_heartbeat_and_its_duration(tmp_path: Path) -> None:
    """The install waits until a heartbeat line was written, then finishes: both the
    heartbeat and the closing line with the duration are there."""
    body = 'until grep -q "still installing slow" "$LOG"; do sleep 0.05; done; touch "$bin/slow"'
    done = install(tmp_path, body)
    assert done.returncode == 0, done.stderr
    lines = done.stderr.splitlines()
    assert lines[0] == "tools: installing slow"
    assert any(line.startswith("tools: still installing slow (") for line in lines)
    assert lines[-1].startswith("tools: installed slow in ")


def test_a_failed_install_fails_and_leaves_no_stamp(tmp_path: Path) -> None:
    """set -e still ends the script at the failing step; the next run retries it."""
    done = install(tmp_path, "false; touch $bin/slow")
    assert done.returncode != 0
    assert not (tmp_path / "tools" / ".slow.stamp").exists()
    assert not (tmp_path / "tools" / "bin" / "slow").exists()
