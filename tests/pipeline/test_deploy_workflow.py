"""The deploy workflow's triggers, gates and secrets (linting and thinness are checked
for every workflow in test_pipeline_workflow.py)."""

import re
import shutil
import subprocess
from typing import Any

import pytest
import yaml

from pipeline import signer_identity
from tests.conftest import missing
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
    """Nothing by default; nothing is built or signed here: no OIDC token, packages read-only."""
    jobs = _workflow()["jobs"]
    assert _workflow()["permissions"] == {}
    assert jobs["staging"]["permissions"] == {"contents": "write", "packages": "read"}
    assert jobs["production"]["permissions"] == {
        "contents": "write", "pull-requests": "write", "packages": "read"
    }  # fmt: skip
    assert _workflow()["concurrency"]["cancel-in-progress"] is False


RUNNER = {"GITHUB_SERVER_URL": "https://github.com", "GITHUB_REPOSITORY": "acme/hello.api",
          "SOURCE_SHA": "a" * 40, "GITHUB_ACTOR": "bot", "PATH": "/usr/bin:/bin",
          "ARGOCD_SERVER": "https://argocd.acme.io"}  # fmt: skip


def _expand(job: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """The deploy call's words as the action's bash expands them, one a line."""
    if shutil.which("bash") is None:
        missing("bash is needed to expand the workflow's call")
    script = f'for word in {_deploy_step(job)["with"]["call"]}; do printf "%s\\n" "$word"; done'
    return subprocess.run(["bash", "-c", script], env=env, capture_output=True, text=True)


def _expanded(job: str) -> list[str]:
    """The deploy call's words with the runner's variables set."""
    done = _expand(job, RUNNER)
    assert done.returncode == 0, done.stderr
    return done.stdout.splitlines()


@pytest.mark.parametrize("job", ["staging", "production"])
def test_an_unset_argo_cd_server_fails_the_step_naming_it(job: str) -> None:
    """vars.ARGOCD_SERVER empty: bash stops before dagger runs, naming the variable."""
    done = _expand(job, {**RUNNER, "ARGOCD_SERVER": ""})
    assert done.returncode != 0
    assert "ARGOCD_SERVER" in done.stderr
    assert done.stdout == ""


def _flag(job: str, name: str) -> str:
    (value,) = [w.split("=", 1)[1] for w in _expanded(job) if w.startswith(f"--{name}=")]
    return value


@pytest.mark.parametrize("job", ["staging", "production"])
def test_only_ci_on_main_is_trusted(job: str) -> None:
    """The identity is anchored and ends with @refs/heads/main$: ci.yml on main, no other ref."""
    identity = _flag(job, "certificate-identity")
    assert identity.startswith("^")
    assert identity.endswith("@refs/heads/main$")
    assert _flag(job, "certificate-oidc-issuer") == "https://token.actions.githubusercontent.com"
    workflows = "https://github.com/acme/hello.api/.github/workflows"
    assert re.fullmatch(identity, f"{workflows}/ci.yml@refs/heads/main")
    # each '.' escaped (a repository name with a dot here), no other identity matched
    signer_identity.check(identity, "https://github.com/acme/hello.api", "main")
    others = ["ci.yml@refs/heads/evil", "ci.yml@refs/tags/v1", "ci.yml@refs/heads/main-x",
              "deploy.yml@refs/heads/main", "ci.yml@refs/pull/1/merge"]  # fmt: skip
    for other in [f"{workflows}/{o}" for o in others] + [f"x{workflows}/ci.yml@refs/heads/main"]:
        assert not re.fullmatch(identity, other), other
        assert not re.search(identity, other), other


def test_staging_promotes_cis_tag_for_the_same_commit() -> None:
    """No build, no signing: the tag ci pushed for this commit, and that commit as revision."""
    words = _expanded("staging")
    assert _flag("staging", "address") == "ghcr.io/acme/hello.api:" + "a" * 40
    assert _flag("staging", "revision") == "a" * 40
    assert not any(w.startswith(("--oidc-token", "--private-key", "--image")) for w in words)


@pytest.mark.parametrize("job", ["staging", "production"])
def test_each_job_notifies_and_checks_argo_cd(job: str) -> None:
    """Both post to the webhook (a secret) and ask Argo CD (production: is staging healthy)."""
    assert _flag(job, "webhook") == "env://SLACK_WEBHOOK_URL"
    assert _flag(job, "argocd-token") == "env://ARGOCD_TOKEN"
    assert _flag(job, "argocd-server") == "https://argocd.acme.io"
    assert "--skip-staging-check" not in _expanded(job)
