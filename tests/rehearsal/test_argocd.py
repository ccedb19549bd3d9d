"""Argo CD on the rehearsal control plane: the first sync, and `deploy --env staging --wait`.

The staging Application and the project ship as in k8s/argocd/apps; only `repoURL` is
set, as the README asks of every user, to a git remote served by `git daemon` on
loopback. Its k8s/ is this checkout's, with one commit on top pointing the analysis at
the stub. `deploy --wait` runs the pipeline's own pieces, the way steps/delivery.py and
steps/follow.py chain them: pipeline.gitops' edit, commit and push argv lists against
that remote, then pipeline.argocd.watch asking for the Application (read from the
kube-apiserver, where Argo CD keeps it; a refresh is the annotation Argo CD's API sets),
then pipeline.gitops.reverted when the rollout failed.
"""

from __future__ import annotations

import copy
import json
import re
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import anyio
import pytest

from pipeline import argocd, gitops
from tests.k8s.gitops_repo import bare_remote, clone, run, run_all
from tests.k8s.manifests import K8S, load
from tests.rehearsal.release import (
    ACTIVE,
    JOB,
    NAME,
    PREVIEW,
    digest,
    rollout,
    selected_hash,
)
from tests.support import controlplane
from tests.support.analysis_stub import AnalysisStub, Health
from tests.support.controlplane import (
    ARGOCD_NAMESPACE,
    ControlPlane,
    Manifest,
    Recording,
    dump,
    watching,
)

APP = "hello-world-api-staging"
NS = "hello-world-api-staging"
APP_PATH = f"/apis/argoproj.io/v1alpha1/namespaces/{ARGOCD_NAMESPACE}/applications/{APP}"
IMAGE = "ghcr.io/example/hello-world-api"
ANALYSIS = "k8s/base/analysis-templates.yaml"
WAIT_SECONDS = 300
POLL_SECONDS = 2


@dataclass
class GitOps:
    """The remote Argo CD follows, a scratch directory, and the first sync's recordings."""

    remote: Path
    scratch: Path
    first_sync: dict[str, Recording]
    first_verdict: argocd.Verdict


@pytest.fixture(scope="module")
def staging(
    plane: ControlPlane, stub: AnalysisStub, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[GitOps]:
    """Argo CD following the remote's staging overlay, after its first sync landed."""
    base = tmp_path_factory.mktemp("gitops")
    remote = bare_remote(base)
    pointed = clone(remote, base / "setup")
    analysis = pointed / ANALYSIS
    analysis.write_text(
        re.sub(r"https?://\S+", lambda m: stub.redirect(m[0]), analysis.read_text())
    )
    run_all(gitops.commit(ANALYSIS, "rehearsal: analysis addresses at the loopback stub"), pointed)
    run(["git", "push", "origin", "HEAD:refs/heads/main"], pointed)
    kinds = {
        "externalsecrets": f"/apis/external-secrets.io/v1/namespaces/{NS}/externalsecrets",
        "jobs": f"/apis/batch/v1/namespaces/{NS}/jobs",
        "rollouts": f"/apis/argoproj.io/v1alpha1/namespaces/{NS}/rollouts",
    }
    with controlplane.argocd(plane, base) as cd:
        with (
            watching(plane, kinds["externalsecrets"]) as es,
            watching(plane, kinds["jobs"]) as jobs,
            watching(plane, kinds["rollouts"]) as rollouts,
        ):
            plane.apply(applications(cd.repo_url(remote)))
            head = run(gitops.head(), pointed).strip()
            verdict = follow(plane, head)
            # The first-sync test judges the verdict; the others need the sync to land.
            plane.wait(
                "the first sync Synced and Healthy", lambda: landed(plane, head), WAIT_SECONDS
            )
        recorded = {"externalsecrets": es, "jobs": jobs, "rollouts": rollouts}
        yield GitOps(remote, base, recorded, verdict)


def landed(plane: ControlPlane, commit: str) -> bool | None:
    """True once the Application is Synced and Healthy at `commit`."""
    status = (plane.get(APP_PATH) or {}).get("status", {})
    sync, health = status.get("sync", {}), status.get("health", {})
    done = (sync.get("revision"), sync.get("status"), health.get("status"))
    return True if done == (commit, "Synced", "Healthy") else None


def applications(repo_url: str) -> list[Manifest]:
    """The project and the staging Application as shipped, with `repoURL` set."""
    apps = K8S / "argocd" / "apps"
    project, app = (
        copy.deepcopy(load(apps / "project.yaml")[0]),
        copy.deepcopy(load(apps / "staging.yaml")[0]),
    )
    project["spec"]["sourceRepos"] = [repo_url]
    app["spec"]["source"]["repoURL"] = repo_url
    return [project, app]


def follow(plane: ControlPlane, pushed: str) -> argocd.Verdict:
    """pipeline.argocd.watch on the Application, as `deploy --wait` follows it."""

    async def ask(refresh: bool) -> str:
        if refresh:
            plane.kubectl(
                "annotate",
                "application",
                APP,
                "-n",
                ARGOCD_NAMESPACE,
                "argocd.argoproj.io/refresh=normal",
                "--overwrite",
            )
        return json.dumps(plane.get(APP_PATH) or {})

    return anyio.run(argocd.watch, ask, pushed, WAIT_SECONDS, POLL_SECONDS)


def deploy(staging: GitOps, label: str) -> str:
    """`deploy --env staging`'s GitOps half: the digest into the overlay, committed, pushed
    (rebasing if needed); returns the pushed commit, found by its Deploy-Id."""
    work = clone(staging.remote, staging.scratch / f"deploy-{label}")
    overlay = work / gitops.overlay("staging")
    ref = f"{IMAGE}@{digest(label)}"
    edited = gitops.edit(overlay.read_text(), ref)
    assert edited is not None, f"staging already runs {ref}"
    overlay.write_text(edited)
    deploy_id = secrets.token_hex(8)
    source = run(gitops.head(), work).strip()
    message = gitops.commit_message("staging", ref, source, deploy_id)
    run_all(gitops.commit(gitops.overlay("staging"), message), work)
    run(gitops.push_retrying("main"), work)
    return run(gitops.ours(deploy_id), work).strip()


def revert(staging: GitOps, commit: str) -> str:
    """`deploy --wait`'s revert of a failed commit (pipeline.gitops.reverted); the new head."""
    work = clone(staging.remote, staging.scratch / f"revert-{commit[:8]}")
    run_all(gitops.reverted(commit, "main"), work)
    return run(gitops.head(), work).strip()


def image(obj: Manifest) -> str:
    """The first container's image of a Rollout or Job."""
    return str(obj["spec"]["template"]["spec"]["containers"][0]["image"])


def runs(plane: ControlPlane, wanted: str) -> bool:
    """The Rollout's stable pods run the image `wanted` and the active Service selects them."""
    current = rollout(plane, NS)
    status = current.get("status", {})
    stable = status.get("stableRS")
    return (
        image(current) == wanted
        and stable == status.get("currentPodHash")
        and selected_hash(plane, NS, ACTIVE) == stable
    )


def test_first_sync_lands_without_a_degraded_moment(staging: GitOps) -> None:
    """`deploy --wait` on the first sync succeeds: the Rollout is never Degraded on the way
    (an AnalysisTemplate it names missing makes it InvalidSpec, so the Application is
    Degraded at the pushed commit and the watch, rightly, gives up)."""
    degraded = [
        r["status"].get("message")
        for r in staging.first_sync["rollouts"].objects
        if r.get("status", {}).get("phase") == "Degraded"
    ]
    assert not degraded, f"the Rollout was Degraded during the first sync: {degraded[0]}"
    assert staging.first_verdict.outcome is argocd.Outcome.SUCCEEDED, staging.first_verdict.reason


def test_first_sync_runs_the_secret_and_migration_before_the_rollout(staging: GitOps) -> None:
    """The ExternalSecret exists before the migration Job, which completes before the
    Rollout is created."""
    recorded = staging.first_sync
    secret = recorded["externalsecrets"].first(lambda o: True)
    job = recorded["jobs"].first(lambda o: o["metadata"]["name"] == JOB)
    completed = recorded["jobs"].first(
        lambda o: any(
            c["type"] == "Complete" and c["status"] == "True"
            for c in o.get("status", {}).get("conditions", [])
        )
    )
    created = recorded["rollouts"].first(lambda o: o["metadata"]["name"] == NAME)
    assert None not in (secret, job, completed, created), (secret, job, completed, created)
    assert secret < job < completed < created, {  # type: ignore[operator]
        "ExternalSecret": secret,
        "Job": job,
        "Job complete": completed,
        "Rollout": created,
    }


def test_deploy_wait_succeeds_once_the_pushed_commit_is_synced_and_healthy(
    plane: ControlPlane, staging: GitOps
) -> None:
    """A new digest pushed: watch says succeeded only with that commit synced, the
    Rollout promoted to it, and Argo CD Healthy."""
    pushed = deploy(staging, "argocd-v2")
    verdict = follow(plane, pushed)
    assert verdict.outcome is argocd.Outcome.SUCCEEDED, verdict.reason
    app = plane.get(APP_PATH) or {}
    assert app["status"]["sync"]["revision"] == pushed, dump(app.get("status"))
    assert runs(plane, f"{IMAGE}@{digest('argocd-v2')}"), dump(rollout(plane, NS).get("status"))


def test_deploy_wait_reverts_a_failed_rollout_and_the_revert_lands(
    plane: ControlPlane, stub: AnalysisStub, staging: GitOps
) -> None:
    """The next digest fails its pre-promotion analysis: watch says failed, the revert
    commit is pushed, Argo CD syncs it, running the migration Job again with the old
    image (after the failed release's migration: old image, newer database), and the
    Rollout is back on the image it ran before, Healthy."""
    before = image(rollout(plane, NS))
    stub.smoke(NS, PREVIEW, Health.FAILING)
    pushed = deploy(staging, "argocd-bad")
    verdict = follow(plane, pushed)
    assert verdict.outcome is argocd.Outcome.FAILED, verdict.reason
    with watching(plane, f"/apis/batch/v1/namespaces/{NS}/jobs") as jobs:
        landed = follow(plane, revert(staging, pushed))
    assert landed.outcome is argocd.Outcome.SUCCEEDED, landed.reason
    assert runs(plane, before), dump(rollout(plane, NS).get("status"))
    assert jobs.first(lambda job: image(job) == before), "the revert ran no migration Job"
