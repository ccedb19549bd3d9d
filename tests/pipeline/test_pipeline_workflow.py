"""The GitHub workflow: linted by the real actionlint, valid against the workflow
schema, and thin (every job is a checkout and one `dagger call`)."""

import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.pipeline.tools import ROOT, tool

WORKFLOW = ROOT / ".github" / "workflows" / "ci.yml"


def _jobs() -> dict[str, Any]:
    return yaml.safe_load(WORKFLOW.read_text())["jobs"]


def test_actionlint_passes() -> None:
    """actionlint (with shellcheck-style expression checks) finds nothing."""
    done = subprocess.run([tool("actionlint"), str(WORKFLOW)], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


def test_workflow_matches_the_github_schema() -> None:
    """check-jsonschema's bundled github-workflows schema accepts the file."""
    args = [tool("check-jsonschema"), "--builtin-schema", "vendor.github-workflows", str(WORKFLOW)]
    done = subprocess.run(args, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize("name", sorted(_jobs()))
def test_every_job_is_checkout_plus_one_dagger_call(name: str) -> None:
    """No logic in YAML: checkout, then the pinned Dagger action calling `ci`."""
    checkout, dagger = _jobs()[name]["steps"]
    assert checkout["uses"].startswith("actions/checkout@")
    assert dagger["uses"] == "dagger/dagger-for-github@v8.4.1"
    assert dagger["with"]["version"] == "0.21.11"
    assert dagger["with"]["call"].split()[0] == "ci"


def test_secrets_reach_the_module_only_as_env_uris() -> None:
    """Every secret is handed over as env://NAME, never interpolated into the call."""
    release = _jobs()["release"]["steps"][1]
    assert "secrets." not in release["with"]["call"]
    assert all(f"env://{name}" in release["with"]["call"] for name in release["env"])


def test_only_the_release_job_may_mint_an_oidc_token() -> None:
    """id-token: write exists where keyless signing runs, and nowhere else."""
    workflow = yaml.safe_load(WORKFLOW.read_text())
    assert workflow["permissions"] == {"contents": "read"}
    assert _jobs()["release"]["permissions"]["id-token"] == "write"
    assert "permissions" not in _jobs()["check"]
    assert workflow["concurrency"]["group"]


def test_workflow_is_a_plain_path() -> None:
    """The workflow lives where GitHub looks for it."""
    assert WORKFLOW.relative_to(ROOT) == Path(".github/workflows/ci.yml")
