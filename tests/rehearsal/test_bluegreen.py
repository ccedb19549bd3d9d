"""Blue/green on the real Argo Rollouts controller: promotion, aborts and the switch back.

Each test installs an overlay at one digest in its own namespace, then releases another
digest with the analysis stub scripted for that test (tests/rehearsal/release.py).
"""

from __future__ import annotations

import datetime

from tests.rehearsal.release import (
    ACTIVE,
    HASH,
    NAME,
    PREVIEW,
    analysis_runs,
    digest,
    install,
    promote,
    release,
    rollout,
    runs_for,
    selected_hash,
    wait_phase,
)
from tests.support.analysis_stub import AnalysisStub, Health
from tests.support.controlplane import ControlPlane, Manifest, dump, watching

FAILED = ("Failed", "Error")
# Set on the old ReplicaSet at the switch (argo-rollouts pkg/apis/rollouts/v1alpha1/types.go).
SCALE_DOWN_DEADLINE = "scale-down-deadline"
# An abort leaves the Rollout Degraded with `abort: true` (argo-rollouts docs, "Rollback").
ABORTED = "Degraded"


def pre_promotion_hash(plane: ControlPlane, ns: str) -> str:
    """The new ReplicaSet's hash, once its pre-promotion analysis has started."""

    def started() -> str | None:
        for run in analysis_runs(plane, ns):
            if run["metadata"]["labels"].get("rollout-type") == "PrePromotion":
                return str(run["metadata"]["labels"][HASH])
        return None

    return plane.wait(f"a pre-promotion AnalysisRun in {ns}", started)


def active_hashes(recording: list[Manifest]) -> list[str]:
    """The active Service's selected hashes in the order they were seen, repeats dropped."""
    seen: list[str] = []
    for service in recording:
        selector = service.get("spec", {}).get("selector", {})
        value = selector.get(HASH)
        if value and (not seen or seen[-1] != value):
            seen.append(value)
    return seen


def test_new_digest_is_previewed_analysed_switched_and_checked(
    plane: ControlPlane, stub: AnalysisStub
) -> None:
    """Staging: the new ReplicaSet is analysed behind preview while users keep the old one,
    then active switches, post-promotion analysis passes, and the old ReplicaSet is kept
    for scaleDownDelaySeconds (an instant switch back), not scaled down at once."""
    ns = "rehearse-promote"
    old = install(plane, stub, "staging", ns, "v1")
    release(plane, stub, "staging", ns, digest("v2"))
    new = pre_promotion_hash(plane, ns)
    assert (selected_hash(plane, ns, PREVIEW), selected_hash(plane, ns, ACTIVE)) == (new, old)
    done = wait_phase(plane, ns, "Healthy")
    assert (done["status"]["stableRS"], selected_hash(plane, ns, ACTIVE)) == (new, new)
    assert runs_for(plane, ns, new) == {"PrePromotion": "Successful", "PostPromotion": "Successful"}
    assert stub.requests(f"{PREVIEW}.{ns}."), "pre-promotion analysis never asked preview"
    assert stub.requests(f"{ACTIVE}.{ns}."), "post-promotion analysis never asked active"
    kept = replica_set(plane, ns, old)
    deadline = kept["metadata"]["annotations"][SCALE_DOWN_DEADLINE]
    left = datetime.datetime.fromisoformat(deadline) - datetime.datetime.now(datetime.UTC)
    assert left > datetime.timedelta(minutes=5), f"old ReplicaSet leaves too soon: {deadline}"
    assert kept["spec"]["replicas"] == 1, dump(kept["spec"])


def replica_set(plane: ControlPlane, ns: str, pod_hash: str) -> Manifest:
    """The Rollout's ReplicaSet with that pod-template hash."""
    found = plane.get(f"/apis/apps/v1/namespaces/{ns}/replicasets/{NAME}-{pod_hash}")
    assert found is not None, f"no ReplicaSet {NAME}-{pod_hash} in {ns}"
    return found


def test_failing_pre_promotion_aborts_and_users_keep_the_old_version(
    plane: ControlPlane, stub: AnalysisStub
) -> None:
    """Staging: the new version fails its smoke check behind preview: the Rollout aborts
    and the active Service never leaves the old ReplicaSet."""
    ns = "rehearse-pre-fails"
    old = install(plane, stub, "staging", ns, "v1")
    stub.smoke(ns, PREVIEW, Health.FAILING)
    with watching(plane, f"/api/v1/namespaces/{ns}/services") as services:
        release(plane, stub, "staging", ns, digest("v2"))
        aborted = wait_phase(plane, ns, ABORTED)
    new = aborted["status"]["currentPodHash"]
    assert aborted["status"].get("abort") is True, dump(aborted["status"])
    assert runs_for(plane, ns, new).get("PrePromotion") in FAILED, dump(analysis_runs(plane, ns))
    assert "PostPromotion" not in runs_for(plane, ns, new)
    active = [s for s in services.objects if s["metadata"]["name"] == ACTIVE]
    assert active_hashes(active) == [old], "the active Service left the old ReplicaSet"
    assert aborted["status"]["stableRS"] == old


def test_failing_post_promotion_aborts_and_switches_back(
    plane: ControlPlane, stub: AnalysisStub
) -> None:
    """Staging: the new version passes behind preview but fails once it serves users: the
    Rollout aborts and the active Service goes back to the old ReplicaSet, still up."""
    ns = "rehearse-post-fails"
    old = install(plane, stub, "staging", ns, "v1")
    stub.smoke(ns, ACTIVE, Health.FAILING)  # after the switch, active is the new version
    with watching(plane, f"/api/v1/namespaces/{ns}/services") as services:
        release(plane, stub, "staging", ns, digest("v2"))
        aborted = wait_phase(plane, ns, ABORTED)
        plane.wait(
            "the active Service back on the old ReplicaSet",
            lambda: selected_hash(plane, ns, ACTIVE) == old or None,
        )
    new = aborted["status"]["currentPodHash"]
    assert aborted["status"].get("abort") is True, dump(aborted["status"])
    runs = runs_for(plane, ns, new)
    assert runs.get("PrePromotion") == "Successful", dump(analysis_runs(plane, ns))
    assert runs.get("PostPromotion") in FAILED, dump(analysis_runs(plane, ns))
    active = [s for s in services.objects if s["metadata"]["name"] == ACTIVE]
    assert active_hashes(active) == [old, new, old]
    assert replica_set(plane, ns, old)["spec"]["replicas"] == 1


def test_prometheus_without_data_aborts_production(plane: ControlPlane, stub: AnalysisStub) -> None:
    """Production: smoke passes, a person promotes, and Prometheus has no series for the
    new pods: the error-rate gate must not pass blind; the Rollout aborts and switches back."""
    ns = "rehearse-no-data"
    old = install(plane, stub, "production", ns, "v1")
    stub.prometheus(ns, Health.NO_DATA)
    release(plane, stub, "production", ns, digest("v2"))
    paused = wait_phase(plane, ns, "Paused")
    assert selected_hash(plane, ns, ACTIVE) == old, "production switched before promotion"
    promote(plane, ns)
    aborted = wait_phase(plane, ns, ABORTED, timeout=420)
    new = paused["status"]["currentPodHash"]
    assert aborted["status"].get("abort") is True, dump(aborted["status"])
    assert runs_for(plane, ns, new).get("PostPromotion") in FAILED, dump(analysis_runs(plane, ns))
    assert stub.requests("prometheus-server.monitoring."), "Prometheus was never asked"
    assert selected_hash(plane, ns, ACTIVE) == old
    assert rollout(plane, ns)["status"]["stableRS"] == old
