"""The GitHub workflows: linted by the real actionlint and zizmor, valid against the
workflow schema, pinned, and thin (every job is a checkout and one `dagger call`)."""

import re
import shlex
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.pipeline.tools import ROOT, tool

WORKFLOWS = ROOT / ".github" / "workflows"
WORKFLOW = WORKFLOWS / "ci.yml"
# The module function each workflow's jobs call, and the jobs that call another one.
CALLS = {"ci.yml": "ci", "deploy.yml": "deploy"}
JOB_CALLS = {("ci.yml", "self-test"): "self-test"}
# actionlint (with its shellcheck-style expression checks) and the github-workflows schema.
LINTERS = {"actionlint": [], "check-jsonschema": ["--builtin-schema", "vendor.github-workflows"]}
# `uses: owner/action@<40 hex> # vX.Y.Z`: a tag can be moved to other code, a commit cannot.
PINNED = re.compile(r"^\s*-?\s*uses: [\w.-]+/[\w./-]+@[0-9a-f]{40} # v\d+\.\d+\.\d+$")
DAGGER_ACTION = "dagger/dagger-for-github@27b130bf0f79a7f6fbbbe0fbca6760dc9bb40a77"


def _jobs(workflow: str = "ci.yml") -> dict[str, Any]:
    return yaml.safe_load((WORKFLOWS / workflow).read_text())["jobs"]


def test_every_workflow_is_known() -> None:
    """Each workflow file is one this suite checks (a new one must be added to CALLS)."""
    assert sorted(p.name for p in WORKFLOWS.glob("*.y*ml")) == sorted(CALLS)


@pytest.mark.parametrize("workflow", sorted(CALLS))
@pytest.mark.parametrize("linter", sorted(LINTERS))
def test_the_linters_accept_every_workflow(linter: str, workflow: str) -> None:
    """actionlint and check-jsonschema find nothing."""
    argv = [tool(linter), *LINTERS[linter], str(WORKFLOWS / workflow)]
    done = subprocess.run(argv, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize(
    ("workflow", "job"), [(w, j) for w in sorted(CALLS) for j in sorted(_jobs(w))]
)
def test_every_job_is_checkout_plus_one_dagger_call(workflow: str, job: str) -> None:
    """No logic in YAML: checkout, then the pinned Dagger action calling the module."""
    checkout, dagger = _jobs(workflow)[job]["steps"]
    assert checkout["uses"].startswith("actions/checkout@")
    assert dagger["uses"] == DAGGER_ACTION
    assert dagger["with"]["version"] == "0.21.11"
    assert dagger["with"]["call"].split()[0] == JOB_CALLS.get((workflow, job), CALLS[workflow])


def test_secrets_reach_the_module_only_as_env_uris() -> None:
    """Every secret is handed over as env://NAME, never interpolated into the call."""
    release = _jobs()["release"]["steps"][1]
    assert "secrets." not in release["with"]["call"]
    assert all(f"env://{name}" in release["with"]["call"] for name in release["env"])


def test_the_release_names_what_its_provenance_attests() -> None:
    """ci publishes and signs there, so it passes the repository and the ref it built."""
    words = shlex.split(_jobs()["release"]["steps"][1]["with"]["call"])
    assert "--source-url=$GITHUB_SERVER_URL/$GITHUB_REPOSITORY" in words
    assert "--source-ref=$GITHUB_REF" in words
    assert "--revision=$GITHUB_SHA" in words


def test_only_the_release_job_may_mint_an_oidc_token() -> None:
    """id-token: write exists where keyless signing runs, and nowhere else."""
    workflow = yaml.safe_load(WORKFLOW.read_text())
    assert workflow["permissions"] == {"contents": "read"}
    assert _jobs()["release"]["permissions"]["id-token"] == "write"
    assert "permissions" not in _jobs()["check"]
    assert "permissions" not in _jobs()["self-test"]
    assert workflow["concurrency"]["group"]


def test_pull_requests_run_the_repositorys_own_tests() -> None:
    """A pull request runs `self-test` (pipeline and manifest tests) beside `ci`, as its own job."""
    jobs = _jobs()
    assert jobs["self-test"]["if"] == jobs["check"]["if"] == "github.event_name == 'pull_request'"
    assert jobs["self-test"]["steps"][1]["with"]["call"] == "self-test"
    assert jobs["self-test"]["timeout-minutes"] <= 60


def test_every_job_called_elsewhere_is_a_job_of_its_workflow() -> None:
    """JOB_CALLS names jobs that exist (a renamed job cannot silently escape the check)."""
    assert all(job in _jobs(workflow) for workflow, job in JOB_CALLS)


def test_workflow_is_a_plain_path() -> None:
    """The workflow lives where GitHub looks for it."""
    assert WORKFLOW.relative_to(ROOT) == Path(".github/workflows/ci.yml")


def _calls() -> list[tuple[str, str, str]]:
    """(workflow, job, the `call` input) of every dagger-for-github step."""
    return [
        (path.name, name, step["with"]["call"])
        for path in sorted(WORKFLOWS.glob("*.yml"))
        for name, job in yaml.safe_load(path.read_text())["jobs"].items()
        for step in job["steps"]
        if "dagger" in step.get("uses", "") and "call" in step.get("with", {})
    ]


@pytest.mark.parametrize(("workflow", "job", "call"), _calls())
def test_every_call_names_a_registered_function_and_its_flags(
    registered: dict[str, Any], workflow: str, job: str, call: str
) -> None:
    """Each `dagger call` names a function and only flags it (or the constructor) takes.

    A string result takes no sub-field: `ci summary` once broke the release job.
    """
    function, *words = shlex.split(call)  # the action runs `call` through bash
    pipeline = registered["Pipeline"]
    known = pipeline["functions"][function.replace("-", "_")]["args"]
    known = {**known, **pipeline["constructor"][0]["args"]}
    flags = {w.split("=", 1)[0].removeprefix("--").replace("-", "_") for w in words}
    unknown = [w for w in words if not w.startswith("--")]
    assert (flags - set(known), unknown) == (set(), []), f"{workflow}:{job}"


@pytest.mark.parametrize("workflow", sorted(CALLS))
def test_every_action_is_pinned_to_a_commit_with_its_version(workflow: str) -> None:
    """Every `uses:` names a full 40-hex commit SHA, and its version in a comment."""
    lines = [line for line in (WORKFLOWS / workflow).read_text().splitlines() if "uses:" in line]
    assert lines
    assert [line for line in lines if not PINNED.match(line)] == []


@pytest.mark.parametrize(
    ("workflow", "job"), [(w, j) for w in sorted(CALLS) for j in sorted(_jobs(w))]
)
def test_no_checkout_leaves_its_token_behind(workflow: str, job: str) -> None:
    """persist-credentials: false: no job pushes with the checkout's token (deploy has its own)."""
    checkout = _jobs(workflow)[job]["steps"][0]
    assert checkout["with"]["persist-credentials"] is False


def test_zizmor_finds_nothing_offline() -> None:
    """zizmor's offline audits (unpinned actions, credentials, injection...) report nothing."""
    argv = [tool("zizmor"), "--offline", "--no-progress", str(WORKFLOWS)]
    done = subprocess.run(argv, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "No findings to report" in done.stdout, done.stdout
