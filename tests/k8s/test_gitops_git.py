"""The GitOps edit and push against a real git repository (a local bare remote).

The commands are pipeline.gitops' argv lists, the ones `deploy` runs in its git
container; here they run with subprocess in two clones of one remote.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml

from pipeline import gitops
from tests.k8s.gitops_repo import (
    ENV,
    STAGING,
    bare_remote,
    clone,
    git_bin,
    log,
    run,
    run_all,
    show,
)
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


def test_a_url_like_an_option_is_cloned_as_a_path(tmp_path: Path) -> None:
    """git reads `--upload-pack=...` after `--` as a repository path: nothing is run."""
    git_bin()
    marker = tmp_path / "pwned"
    argv = gitops.clone(f"--upload-pack=touch {marker}", "main", str(tmp_path / "a"))
    done = subprocess.run(argv, cwd=tmp_path, env=ENV, capture_output=True, text=True)
    assert done.returncode != 0
    assert "does not exist" in done.stderr, done.stderr
    assert not marker.exists()


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


# --- what runs, and only forward (deploy's ancestry check) -----------------------------


def source_commit(remote: Path, checkout: Path, name: str) -> str:
    """A source change pushed to main (the GitOps repository is the source repository)."""
    run(["git", "pull", "-q", "--rebase", "origin", "main"], checkout)
    (checkout / f"{name}.txt").write_text(f"{name}\n")
    run_all(gitops.commit(f"{name}.txt", f"service: {name}"), checkout)
    run(["git", "push", "origin", "HEAD:refs/heads/main"], checkout)
    return run(gitops.head(), checkout).strip()


def deploy_revision(checkout: Path, ref: str, revision: str, deploy_id: str = "run-1") -> str:
    """What `deploy` does in a fresh clone: the ancestry verdict's input, edit, commit, push."""
    run(["git", "pull", "-q", "--rebase", "origin", "main"], checkout)
    edited = gitops.edit((checkout / STAGING).read_text(), ref)
    assert edited is not None
    (checkout / STAGING).write_text(edited)
    message = gitops.commit_message("staging", ref, revision, deploy_id)
    run_all(gitops.commit(STAGING, message), checkout)
    run(gitops.push_retrying("main"), checkout)
    return run(gitops.ours(deploy_id), checkout).strip()


def verdict(checkout: Path, wanted: str, *, rollback: bool = False) -> str:
    """deploy's refusal ("" when allowed) to move staging to `wanted`, as it computes it."""
    running = gitops.running_revision(run(gitops.overlay_log("staging"), checkout))
    answer = run(gitops.ancestry(running, wanted), checkout) if running else ""
    return gitops.forward_only("staging", running, wanted, answer, rollback=rollback)


OTHER = "ghcr.io/acme/hello-world-api@sha256:" + "c" * 64


def test_the_overlay_history_says_which_revision_runs(remote: Path, tmp_path: Path) -> None:
    """The newest deploy's Source revision; after its revert, the one before it again."""
    checkout = clone(remote, tmp_path / "a")
    older, newer = source_commit(remote, checkout, "one"), source_commit(remote, checkout, "two")
    assert verdict(checkout, older) == ""  # nothing recorded yet: no refusal
    deploy_revision(checkout, REF, older)
    ours = deploy_revision(checkout, OTHER, newer, "run-2")
    assert gitops.running_revision(run(gitops.overlay_log("staging"), checkout)) == newer
    run_all(gitops.reverted(ours, "main"), checkout)
    assert gitops.running_revision(run(gitops.overlay_log("staging"), checkout)) == older


def test_a_revert_of_the_revert_runs_the_deploy_again(remote: Path, tmp_path: Path) -> None:
    """Reverting our revert re-applies the newer deploy: it runs, not the one before it."""
    checkout = clone(remote, tmp_path / "a")
    older, newer = source_commit(remote, checkout, "one"), source_commit(remote, checkout, "two")
    deploy_revision(checkout, REF, older)
    ours = deploy_revision(checkout, OTHER, newer, "run-2")
    run_all(gitops.reverted(ours, "main"), checkout)
    revert = run(gitops.head(), checkout).strip()
    run_all(gitops.reverted(revert, "main"), checkout)
    assert gitops.read_image((checkout / STAGING).read_text()) == tuple(OTHER.split("@"))
    assert gitops.running_revision(run(gitops.overlay_log("staging"), checkout)) == newer
    run_all(gitops.reverted(run(gitops.head(), checkout).strip(), "main"), checkout)
    assert gitops.running_revision(run(gitops.overlay_log("staging"), checkout)) == older


def test_a_late_run_cannot_move_staging_back(remote: Path, tmp_path: Path) -> None:
    """Staging runs the newer commit: the older one is refused, unless --rollback."""
    checkout = clone(remote, tmp_path / "a")
    older, newer = source_commit(remote, checkout, "one"), source_commit(remote, checkout, "two")
    deploy_revision(checkout, REF, newer)
    fresh = clone(remote, tmp_path / "b")
    assert "is not a descendant" in verdict(fresh, older)
    assert "--rollback" in verdict(fresh, older)
    assert verdict(fresh, older, rollback=True) == ""
    assert verdict(fresh, newer) == ""


def test_a_descendant_goes_ahead(remote: Path, tmp_path: Path) -> None:
    """A commit made after the running one is a descendant: allowed."""
    checkout = clone(remote, tmp_path / "a")
    older = source_commit(remote, checkout, "one")
    deploy_revision(checkout, REF, older)
    newer = source_commit(remote, checkout, "two")
    assert run(gitops.ancestry(older, newer), clone(remote, tmp_path / "b")).strip() == "descendant"
    assert verdict(clone(remote, tmp_path / "c"), newer) == ""


def test_a_commit_on_another_branch_is_fetched_and_not_a_descendant(
    remote: Path, tmp_path: Path
) -> None:
    """The main-only clone fetches an unknown commit by id; a side branch has diverged."""
    checkout = clone(remote, tmp_path / "a")
    base = source_commit(remote, checkout, "one")
    run(["git", "checkout", "-q", "-b", "side"], checkout)
    (checkout / "side.txt").write_text("side\n")
    run_all(gitops.commit("side.txt", "side"), checkout)
    run(["git", "push", "origin", "HEAD:refs/heads/side"], checkout)
    side = run(gitops.head(), checkout).strip()
    run(["git", "checkout", "-q", "main"], checkout)
    newer = source_commit(remote, checkout, "two")
    deploy_revision(checkout, REF, newer)
    fresh = clone(remote, tmp_path / "b")
    assert run(gitops.ancestry(base, side), fresh).strip() == "descendant"
    assert run(gitops.ancestry(newer, side), fresh).strip() == "diverged"
    assert run(gitops.ancestry(newer, "e" * 40), fresh).strip() == "unknown"
    assert "cannot be compared" in gitops.forward_only("staging", newer, "e" * 40, "unknown",
                                                       rollback=False)  # fmt: skip


def test_a_later_commit_is_fetched_and_shows_the_overlay_ours_had(
    remote: Path, tmp_path: Path
) -> None:
    """What the follow loop runs in its clone: fetch the branch, then show both overlays."""
    checkout, other = clone(remote, tmp_path / "a"), clone(remote, tmp_path / "b")
    pushed = deploy_revision(checkout, REF, REVISION)
    run(["git", "pull", "-q", "origin", "main"], other)
    (other / "NOTES").write_text("a later commit\n")
    run_all(gitops.commit("NOTES", "notes: later"), other)
    run(["git", "push", "origin", "HEAD:refs/heads/main"], other)
    later = run(gitops.head(), other).strip()
    run(gitops.fetch("main"), checkout)
    assert run(gitops.ancestry(pushed, later), checkout).strip() == "descendant"
    overlay = run(gitops.show(later, STAGING), checkout)
    assert overlay == run(gitops.show(pushed, STAGING), checkout)
    assert gitops.read_image(overlay) == tuple(REF.split("@"))


# --- our own commit after a rebase -------------------------------------------------------


def test_after_a_rebase_the_pushed_commit_is_ours_not_head_blindly(
    remote: Path, tmp_path: Path
) -> None:
    """Someone pushed first: our commit is rebased (new id) and found by its Deploy-Id."""
    first, second = clone(remote, tmp_path / "a"), clone(remote, tmp_path / "b")
    edited = gitops.edit((first / STAGING).read_text(), REF)
    (first / STAGING).write_text(edited or "")
    run_all(gitops.commit(STAGING, gitops.commit_message("staging", REF, REVISION, "ours")), first)
    before = run(gitops.head(), first).strip()
    (second / "NOTES").write_text("pushed first\n")
    run_all(gitops.commit("NOTES", "notes: pushed first"), second)
    run(["git", "push", "origin", "HEAD:refs/heads/main"], second)
    run(gitops.push_retrying("main"), first)
    ours = run(gitops.ours("ours"), first).strip()
    assert ours not in ("", before)
    assert run(["git", "log", "-1", "--format=%B", ours], remote).endswith("Deploy-Id: ours\n\n")
    assert (
        run(["git", "rev-parse", f"{ours}^"], remote).strip()
        == run(["git", "rev-parse", "main^"], remote).strip()
    )


def test_when_someone_pushed_the_same_digest_first_there_is_no_commit_of_ours(
    remote: Path, tmp_path: Path
) -> None:
    """Our change became empty in the rebase: HEAD is theirs, `ours` is empty, nothing to revert."""
    first, second = clone(remote, tmp_path / "a"), clone(remote, tmp_path / "b")
    theirs = deploy_revision(second, REF, REVISION, "theirs")
    (first / STAGING).write_text(gitops.edit((first / STAGING).read_text(), REF) or "")
    run_all(gitops.commit(STAGING, gitops.commit_message("staging", REF, REVISION, "ours")), first)
    run(gitops.push_retrying("main"), first)
    assert run(gitops.head(), first).strip() == theirs
    assert run(gitops.ours("ours"), first).strip() == ""
    assert log(remote)[0].startswith("deploy(staging)")
    assert len(log(remote)) == 2


# --- a promotion re-run -------------------------------------------------------------------


def test_a_promotion_rerun_force_updates_its_own_branch(remote: Path, tmp_path: Path) -> None:
    """The same promotion pushed again (after a failed or closed PR) replaces its branch."""
    branch = gitops.pr_branch("production", "sha256:" + "b" * 64, REVISION)
    tips = []
    for attempt, name in enumerate(("a", "b")):
        checkout = clone(remote, tmp_path / name)
        path = gitops.overlay("production")
        (checkout / path).write_text(gitops.edit((checkout / path).read_text(), REF) or "")
        message = gitops.commit_message("production", REF, REVISION, f"run-{attempt}")
        run_all(gitops.commit(path, message), checkout)
        run_all(gitops.promotion_push(branch), checkout)
        tips.append(run(gitops.head(), checkout).strip())
    assert tips[0] != tips[1]
    assert run(["git", "rev-parse", f"refs/heads/{branch}"], remote).strip() == tips[1]


def test_a_promotion_push_does_not_overwrite_a_branch_moved_meanwhile(
    remote: Path, tmp_path: Path
) -> None:
    """Another run pushes the branch right after our ls-remote: our push is refused."""
    branch = "deploy/production-x"
    other = clone(remote, tmp_path / "a")
    run(["git", "push", "origin", f"HEAD:refs/heads/{branch}"], other)
    (other / "y").write_text("y\n")
    run_all(gitops.commit("y", "the other run's promotion"), other)
    # A git on PATH whose ls-remote lets the other run push just after answering.
    shim = tmp_path / "bin"
    shim.mkdir()
    (shim / "git").write_text(
        f'#!/bin/sh\nif [ "$1" = ls-remote ]; then {git_bin()} "$@"; status=$?\n'
        f"  (cd {other} && {git_bin()} push -q origin HEAD:refs/heads/{branch}); exit $status\n"
        f'fi\nexec {git_bin()} "$@"\n'
    )
    (shim / "git").chmod(0o755)
    checkout = clone(remote, tmp_path / "b")
    (checkout / "x").write_text("x\n")
    run_all(gitops.commit("x", "our promotion"), checkout)
    env = {**ENV, "PATH": f"{shim}:{ENV['PATH']}"}
    (push,) = gitops.promotion_push(branch)
    done = subprocess.run(push, cwd=checkout, env=env, capture_output=True, text=True, check=False)
    assert done.returncode != 0
    assert "stale info" in done.stderr
    assert log_of(remote, branch) == ["the other run's promotion", "k8s: the manifests"]


def log_of(remote: Path, branch: str) -> list[str]:
    """Subjects of a branch's commits on the remote, newest first."""
    return run(["git", "log", "--format=%s", branch], remote).splitlines()
