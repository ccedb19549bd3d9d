"""The deploy workflow's triggers, gates and secrets (linting and thinness are checked
for every workflow in test_pipeline_workflow.py)."""

from typing import Any

import pytest
import yaml

from tests.pipeline.tools import ROOT

WORKFLOW = ROOT / ".github" / "workflows" / "deploy.yml"


def _workflow() -> dict[str, Any]:
    return yaml.safe_load(WORKFLOW.read_text())


def _deploy_step(job: str) -> dict[str, Any]:
    return _workflow()["jobs"][job]["steps"][1]


@pytest.mark.parametrize("job", ["staging", "production"])
def test_each_job_deploys_its_own_environment(job: str) -> None:
    """The staging job calls `deploy --env=staging`, production `--env=production`."""
    assert _deploy_step(job)["with"]["call"].split()[:2] == ["deploy", f"--env={job}"]


@pytest.mark.parametrize("job", ["staging", "production"])
def test_tokens_reach_the_module_only_as_env_uris(job: str) -> None:
    """Secrets sit in the step's env and are passed as env://NAME, never interpolated."""
    step = _deploy_step(job)
    assert "${{" not in step["with"]["call"]
    secrets = [name for name, value in step["env"].items() if "secrets." in value]
    assert all(f"env://{name}" in step["with"]["call"] for name in secrets)


def test_staging_follows_a_successful_ci_on_main() -> None:
    """workflow_run of ci, on main, only when it succeeded for a push."""
    workflow = _workflow()
    assert workflow[True]["workflow_run"] == {
        "workflows": ["ci"], "types": ["completed"], "branches": ["main"]
    }  # fmt: skip
    condition = workflow["jobs"]["staging"]["if"]
    assert "workflow_run.conclusion == 'success'" in condition
    assert "--wait" in _deploy_step("staging")["with"]["call"]


def test_production_is_manual_behind_a_protected_environment() -> None:
    """workflow_dispatch only, in the `production` environment (required reviewers)."""
    workflow = _workflow()
    assert "workflow_dispatch" in workflow[True]
    assert workflow["jobs"]["production"]["environment"] == "production"
    assert "workflow_dispatch" in workflow["jobs"]["production"]["if"]
    assert "--certificate-identity" in _deploy_step("production")["with"]["call"]


def test_permissions_are_least_privilege() -> None:
    """Nothing by default; each job names what it writes; only staging may sign."""
    jobs = _workflow()["jobs"]
    assert _workflow()["permissions"] == {}
    assert jobs["staging"]["permissions"]["id-token"] == "write"
    assert "id-token" not in jobs["production"]["permissions"]
    assert jobs["production"]["permissions"]["pull-requests"] == "write"
    assert "pull-requests" not in jobs["staging"]["permissions"]
    assert _workflow()["concurrency"]["cancel-in-progress"] is False
