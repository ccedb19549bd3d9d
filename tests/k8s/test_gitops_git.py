"""The GitOps edit and push against a real git repository (a local bare remote).

The commands are pipeline.gitops' argv lists, the ones `deploy` runs in its git
container; here they run with subprocess in two clones of one remote.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from pipeline import gitops
from tests.k8s.gitops_repo import STAGING, bare_remote, clone, log, run, run_all, show
from tests.k8s.manifests import find, tool
from tests.k8s.manifests import run as run_tool

REF = "ghcr.io/acme/hello-world-api@sha256:" + "b" * 64
REVISION = "0123456789abcdef0123456789abcdef01234567"


def deploy(checkout: Path, ref: str = REF) -> bool:
    """What `deploy --env staging` does in its clone; False when there was nothing to do."""
    edited = gitops.edit((checkout / STAGING).read_text(), ref)
    if edited is None:
        return False
    (checkout / STAGING).write_text(edited)
    run_all(gitops.commit(STAGING, gitops.commit_message("staging", ref, REVISION)), checkout)
    run(gitops.push_retrying("main"), checkout)
    return True


@pytest.fixture
def remote(tmp_path: Path) -> Path:
    """A bare remote holding k8s/ on main."""
    return bare_remote(tmp_path)


def test_deploy_commits_the_digest_and_the_revision(remote: Path, tmp_path: Path) -> None:
    """One commit on main, whose message names the digest and the source revision."""
    assert deploy(clone(remote, tmp_path / "a"))
    message = run(["git", "log", "-1", "--format=%B", "main"], remote)
    assert message.startswith("deploy(staging): sha256:" + "b" * 64)
    assert f"Source revision: {REVISION}" in message
    assert gitops.read_image(show(remote, STAGING)) == tuple(REF.split("@"))


def test_the_edit_keeps_every_other_byte(remote: Path, tmp_path: Path) -> None:
    """Comments and formatting survive: only the newName and digest lines differ."""
    before = show(remote, STAGING)
    deploy(clone(remote, tmp_path / "a"))
    changed = [
        (old, new)
        for old, new in zip(before.splitlines(), show(remote, STAGING).splitlines(), strict=True)
        if old != new
    ]
    assert [new.split(":")[0].strip() for _, new in changed] == ["newName", "digest"]


def test_deploying_the_digest_already_there_is_a_no_op(remote: Path, tmp_path: Path) -> None:
    """The second deploy of the same digest makes no commit, empty or not."""
    assert deploy(clone(remote, tmp_path / "a"))
    assert not deploy(clone(remote, tmp_path / "b"))
    assert len(log(remote)) == 2


def test_a_push_race_is_retried_after_a_rebase(remote: Path, tmp_path: Path) -> None:
    """Another clone pushes first; the deploy rebases onto it and still lands."""
    first, second = clone(remote, tmp_path / "a"), clone(remote, tmp_path / "b")
    (second / "NOTES").write_text("pushed first\n")
    run_all(gitops.commit("NOTES", "notes: pushed first"), second)
    run(["git", "push", "origin", "HEAD:refs/heads/main"], second)
    assert deploy(first)
    assert log(remote) == ["deploy(staging): sha256:" + "b" * 64, "notes: pushed first",
                           "k8s: the manifests"]  # fmt: skip


def test_the_revert_restores_what_ran_before(remote: Path, tmp_path: Path) -> None:
    """A Degraded rollout's revert makes the overlay byte-identical to before the deploy."""
    before, checkout = show(remote, STAGING), clone(remote, tmp_path / "a")
    deploy(checkout)
    run_all(gitops.reverted(run(gitops.head(), checkout).strip(), "main"), checkout)
    assert show(remote, STAGING) == before
    assert log(remote)[0].startswith('Revert "deploy(staging)')


def test_kustomize_renders_the_new_digest_on_the_rollout(remote: Path, tmp_path: Path) -> None:
    """The edited overlay still renders, and the Rollout runs the deployed digest."""
    checkout = clone(remote, tmp_path / "a")
    deploy(checkout)
    done = run_tool(tool("kubectl"), "kustomize", str(checkout / "k8s" / "overlays" / "staging"))
    assert done.returncode == 0, done.stderr
    rollout = find([d for d in yaml.safe_load_all(done.stdout) if d], "Rollout")
    assert rollout["spec"]["template"]["spec"]["containers"][0]["image"] == REF
