"""Production's first install, watched: the HPA, the PDB, Services and the migration Job.

The disruption controller and the HPA find the Rollout through its scale subresource;
a Job has none, so a PDB selecting the migration pod cannot compute its budget
(`SyncFailed`) and blocks every drain. Services that select the migration pod send it
users' requests. Both are recorded from before the first object is applied, and the
overlay is applied all at once (no hook phases: the selectors must not rely on them).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from tests.k8s.manifests import find
from tests.rehearsal.release import JOB, NAME, digest, install, rendered, rollout
from tests.support.analysis_stub import AnalysisStub
from tests.support.controlplane import ControlPlane, Manifest, Recording, dump, watching

NS = "rehearse-drain"
MIGRATION_POD = f"{JOB}-"


@dataclass
class Watched:
    """What the watches recorded during and after the install."""

    slices: Recording
    budgets: Recording


@pytest.fixture(scope="module")
def production(plane: ControlPlane, stub: AnalysisStub) -> Iterator[Watched]:
    """Production installed at one digest, with EndpointSlices and PDBs watched throughout."""
    slices_path = f"/apis/discovery.k8s.io/v1/namespaces/{NS}/endpointslices"
    budgets_path = f"/apis/policy/v1/namespaces/{NS}/poddisruptionbudgets"
    with watching(plane, slices_path) as slices, watching(plane, budgets_path) as budgets:
        install(plane, stub, "production", NS, "v1", at_once=True)
        yield Watched(slices, budgets)


def minimum_replicas() -> int:
    """The HPA's minReplicas as production ships it."""
    return int(
        find(list(rendered("production", digest("v1"))), "HorizontalPodAutoscaler")["spec"][
            "minReplicas"
        ]
    )


def condition(obj: Manifest, kind: str) -> dict[str, str]:
    """One status condition, or {} when absent."""
    conditions = obj.get("status", {}).get("conditions", [])
    return next((c for c in conditions if c["type"] == kind), {})


def test_hpa_scales_the_rollout_in_production(plane: ControlPlane, production: Watched) -> None:
    """The HPA resolves the Rollout's scale subresource and raises it to minReplicas."""
    path = f"/apis/autoscaling/v2/namespaces/{NS}/horizontalpodautoscalers/{NAME}"
    want = minimum_replicas()

    def scaled() -> Manifest | None:
        hpa = plane.get(path) or {}
        able = condition(hpa, "AbleToScale").get("status") == "True"
        return hpa if able and rollout(plane, NS)["spec"].get("replicas") == want else None

    hpa = plane.wait(f"the HPA to scale the Rollout to {want}", scaled)
    assert hpa["status"]["desiredReplicas"] == want, dump(hpa["status"])


def test_one_api_pod_can_be_evicted(plane: ControlPlane, production: Watched) -> None:
    """A node drain's first eviction of an API pod is allowed by the PDB."""
    path = f"/apis/policy/v1/namespaces/{NS}/poddisruptionbudgets/{NAME}"

    def allows() -> Manifest | None:
        pdb = plane.get(path) or {}
        status = pdb.get("status", {})
        current = status.get("observedGeneration") == pdb["metadata"]["generation"]
        return pdb if current and status.get("disruptionsAllowed", 0) >= 1 else None

    try:
        plane.wait("the PDB to allow one disruption", allows, timeout=90)
    except AssertionError as exc:
        status = (plane.get(path) or {}).get("status")
        raise AssertionError(f"{exc}; its status:\n{dump(status)}") from None
    pod = api_pods(plane)[0]
    eviction = {
        "apiVersion": "policy/v1",
        "kind": "Eviction",
        "metadata": {"name": pod, "namespace": NS},
    }
    with plane.client() as api:
        answer = api.post(f"/api/v1/namespaces/{NS}/pods/{pod}/eviction", json=eviction)
    assert answer.status_code == 201, f"eviction of {pod} refused: {answer.text}"


def api_pods(plane: ControlPlane) -> list[str]:
    """Names of the Rollout's running pods."""
    pods = plane.get(f"/api/v1/namespaces/{NS}/pods") or {"items": []}
    return [
        p["metadata"]["name"]
        for p in pods["items"]
        if p["status"].get("phase") == "Running" and not p["metadata"]["name"].startswith(JOB)
    ]


def test_the_pdb_never_fails_to_sync(plane: ControlPlane, production: Watched) -> None:
    """No version of the PDB the disruption controller wrote says SyncFailed."""
    plane.wait(
        "the PDB's first computed status",
        lambda: any(condition(b, "DisruptionAllowed") for b in production.budgets.objects) or None,
    )
    failed = [
        b["status"]
        for b in production.budgets.objects
        if condition(b, "DisruptionAllowed").get("reason") == "SyncFailed"
    ]
    assert not failed, f"the PDB failed to sync:\n{dump(failed[0])}"
    assert not production.budgets.errors, production.budgets.errors


def test_no_service_ever_sends_traffic_to_the_migration_pod(
    plane: ControlPlane, production: Watched
) -> None:
    """No EndpointSlice of any Service ever listed the migration Job's pod."""
    assert any(s.get("endpoints") for s in production.slices.objects), "no endpoints recorded"
    listed = [
        (s["metadata"]["labels"].get("kubernetes.io/service-name"), e["targetRef"]["name"])
        for s in production.slices.objects
        for e in s.get("endpoints") or []
        if e.get("targetRef", {}).get("name", "").startswith(MIGRATION_POD)
    ]
    assert not listed, f"Services listed the migration pod: {sorted(set(listed))}"
    assert not production.slices.errors, production.slices.errors
