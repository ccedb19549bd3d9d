"""The shipped overlays on the rehearsal control plane: rendered, installed, released.

What is applied is what `kubectl kustomize k8s/overlays/ENV` renders after `deploy`
wrote a digest (pipeline.gitops.set_image, the edit `deploy` makes), with one change:
every analysis address goes to the loopback stub (tests/support/analysis_stub.py).
Stand-ins, said so: a minimal ExternalSecret CRD and, instead of the External Secrets
and ingress-nginx controllers, a loop doing the one thing each does that the rollout
depends on (`stand_ins`).
"""

from __future__ import annotations

import contextlib
import copy
import hashlib
import shutil
import tempfile
import threading
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import httpx
import yaml

from pipeline import gitops
from tests.k8s.manifests import K8S, Manifest, run, tool
from tests.support.analysis_stub import AnalysisStub
from tests.support.controlplane import ControlPlane, dump, establish

NAME = "hello-world-api"
ACTIVE, PREVIEW = NAME, f"{NAME}-preview"
JOB = f"{NAME}-migrate"
SECRET = f"{NAME}-db"
HASH = "rollouts-pod-template-hash"
ROLLOUTS = "/apis/argoproj.io/v1alpha1/namespaces/{ns}/{kind}"
PHASES = ("PreSync", "Sync", "PostSync")
MERGE_PATCH = {"Content-Type": "application/merge-patch+json"}

# A stand-in for the External Secrets CRD: kind, group and version as the overlays use
# them, any content accepted (the real schema is checked in tests/k8s/test_schemas.py).
EXTERNAL_SECRET_CRD: Manifest = {
    "apiVersion": "apiextensions.k8s.io/v1",
    "kind": "CustomResourceDefinition",
    "metadata": {"name": "externalsecrets.external-secrets.io"},
    "spec": {
        "group": "external-secrets.io",
        "scope": "Namespaced",
        "names": {
            "kind": "ExternalSecret",
            "plural": "externalsecrets",
            "singular": "externalsecret",
            "listKind": "ExternalSecretList",
        },
        "versions": [
            {
                "name": "v1",
                "served": True,
                "storage": True,
                "subresources": {"status": {}},
                "schema": {
                    "openAPIV3Schema": {
                        "type": "object",
                        "x-kubernetes-preserve-unknown-fields": True,
                    }
                },
            }
        ],
    },
}


def digest(label: str) -> str:
    """A made-up image digest, one per label."""
    return "sha256:" + hashlib.sha256(label.encode()).hexdigest()


@cache
def rendered(overlay: str, image_digest: str) -> tuple[Manifest, ...]:
    """The overlay as kustomize renders it once `deploy` has written `image_digest`."""
    with tempfile.TemporaryDirectory() as tmp:
        k8s = Path(tmp) / "k8s"
        shutil.copytree(K8S, k8s)
        kustomization = k8s / "overlays" / overlay / "kustomization.yaml"
        text = kustomization.read_text()
        repository, _ = gitops.read_image(text)
        kustomization.write_text(gitops.set_image(text, repository, image_digest))
        result = run(tool("kubectl"), "kustomize", str(k8s / "overlays" / overlay))
    assert result.returncode == 0, f"kustomize build {overlay} failed:\n{result.stderr}"
    return tuple(doc for doc in yaml.safe_load_all(result.stdout) if doc)


def pointed_at(docs: tuple[Manifest, ...], stub: AnalysisStub) -> list[Manifest]:
    """The objects with every analysis address sent to the stub, nothing else changed."""
    docs_copy = copy.deepcopy(list(docs))
    for doc in docs_copy:
        if doc["kind"] == "AnalysisTemplate":
            assert _redirect(doc["spec"], stub), f"no address in AnalysisTemplate {dump(doc)}"
    return docs_copy


def _redirect(spec: dict[str, Any], stub: AnalysisStub) -> int:
    """Redirect web URLs, Prometheus addresses and address-valued arguments; count them."""
    count = 0
    providers = [metric.get("provider", {}) for metric in spec.get("metrics", [])]
    for field, key in (
        [(p.get("web"), "url") for p in providers]
        + [(p.get("prometheus"), "address") for p in providers]
        + [(arg, "value") for arg in spec.get("args", [])]
    ):
        if field and str(field.get(key, "")).startswith("http"):
            field[key] = stub.redirect(field[key])
            count += 1
    return count


def prepare(plane: ControlPlane) -> None:
    """What the cluster has before the overlays: the ExternalSecret CRD stand-in."""
    plane.apply([EXTERNAL_SECRET_CRD])
    establish(plane, EXTERNAL_SECRET_CRD["metadata"]["name"])


def namespace(plane: ControlPlane, name: str) -> None:
    """A namespace for one scenario."""
    plane.apply([{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}])


@contextlib.contextmanager
def stand_ins(plane: ControlPlane) -> Iterator[None]:
    """Stand-ins, while the block runs, for the controllers the overlays expect the
    cluster to have (k8s/README.md): External Secrets (each ExternalSecret gets its
    target Secret, owned by it as `creationPolicy: Owner` does, and the `Ready` condition
    Argo CD's health check reads) and the nginx ingress controller (each Ingress gets the
    address Argo CD's Ingress health check waits for)."""
    stop = threading.Event()

    def reconcile() -> None:
        while not stop.wait(0.5):
            with contextlib.suppress(AssertionError, httpx.HTTPError):  # next round retries
                _external_secrets(plane)
                _ingresses(plane)

    thread = threading.Thread(target=reconcile, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(10)


def _external_secrets(plane: ControlPlane) -> None:
    found = plane.get("/apis/external-secrets.io/v1/externalsecrets") or {"items": []}
    for external in found["items"]:
        if not _ready(external):
            _provide(plane, external)


def _ingresses(plane: ControlPlane) -> None:
    """Publish an address for every Ingress without one, as ingress-nginx does."""
    found = plane.get("/apis/networking.k8s.io/v1/ingresses") or {"items": []}
    for ingress in found["items"]:
        if ingress.get("status", {}).get("loadBalancer", {}).get("ingress"):
            continue
        meta = ingress["metadata"]
        path = f"/apis/networking.k8s.io/v1/namespaces/{meta['namespace']}/ingresses/{meta['name']}"
        address = {"status": {"loadBalancer": {"ingress": [{"ip": "127.0.0.1"}]}}}
        plane.api.patch(f"{path}/status", json=address, headers=MERGE_PATCH)


def external_secret(ns: str, name: str) -> str:
    """The API path of an ExternalSecret."""
    return f"/apis/external-secrets.io/v1/namespaces/{ns}/externalsecrets/{name}"


def _ready(external: Manifest) -> bool:
    conditions = external.get("status", {}).get("conditions", [])
    return any(c["type"] == "Ready" and c["status"] == "True" for c in conditions)


def _provide(plane: ControlPlane, external: Manifest) -> None:
    """The Secret (the remote keys' names, made-up values) and the Ready condition."""
    meta = external["metadata"]
    owner = {
        "apiVersion": external["apiVersion"],
        "kind": "ExternalSecret",
        "name": meta["name"],
        "uid": meta["uid"],
        "controller": True,
    }
    values = {
        "DB_HOST": "db.invalid",
        "DB_PORT": "5432",
        "DB_NAME": "hello",
        "DB_USER": "hello",
        "DB_PASSWORD": "rehearsal-only",
    }
    name = external["spec"]["target"]["name"]
    secret = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": name, "ownerReferences": [owner]},
        "stringData": values,
    }
    plane.apply([secret], meta["namespace"])
    ready = {
        "type": "Ready",
        "status": "True",
        "reason": "SecretSynced",
        "message": "rehearsal stand-in: Secret created",
    }
    path = external_secret(meta["namespace"], meta["name"]) + "/status"
    plane.api.patch(path, json={"status": {"conditions": [ready]}}, headers=MERGE_PATCH)


def release(
    plane: ControlPlane, stub: AnalysisStub, overlay: str, ns: str, image_digest: str
) -> None:
    """Apply the overlay at `image_digest` in the order an Argo CD sync applies it (for the
    scenarios that need no Argo CD): step by step, each step finished before the next."""
    for step in sync_steps(pointed_at(rendered(overlay, image_digest), stub)):
        hooks = [doc for doc in step if _note(doc, "hook")]
        for hook in hooks:
            if "BeforeHookCreation" in _note(hook, "hook-delete-policy"):
                _delete(plane, ns, hook)
        plane.apply(step, ns)
        for doc in step:
            _wait_finished(plane, ns, doc)
        for hook in hooks:
            if "HookSucceeded" in _note(hook, "hook-delete-policy"):
                _delete(plane, ns, hook)


def sync_steps(docs: list[Manifest]) -> list[list[Manifest]]:
    """Argo CD's sync order: by phase (PreSync, Sync, PostSync; a resource that is no hook
    is in Sync), then by `sync-wave` (default 0) (docs: user-guide/sync-waves)."""
    steps: dict[tuple[int, int], list[Manifest]] = {}
    for doc in docs:
        phase = PHASES.index(_note(doc, "hook") or "Sync")
        steps.setdefault((phase, int(_note(doc, "sync-wave") or 0)), []).append(doc)
    return [steps[key] for key in sorted(steps)]


def _note(doc: Manifest, name: str) -> str:
    """An `argocd.argoproj.io/` annotation of the object, "" when absent."""
    return str(doc["metadata"].get("annotations", {}).get(f"argocd.argoproj.io/{name}", ""))


def _delete(plane: ControlPlane, ns: str, doc: Manifest) -> None:
    kind = doc["kind"].lower()
    plane.kubectl("delete", kind, doc["metadata"]["name"], "-n", ns, "--ignore-not-found")


def _wait_finished(plane: ControlPlane, ns: str, doc: Manifest) -> None:
    """Wait as Argo CD's health checks do for the kinds that take time: a Job complete,
    an ExternalSecret Ready (its Secret made)."""
    if doc["kind"] == "Job":
        plane.wait(
            f"Job {doc['metadata']['name']} complete in {ns}", lambda: job_complete(plane, ns)
        )
    if doc["kind"] == "ExternalSecret":
        path = external_secret(ns, doc["metadata"]["name"])
        plane.wait(f"ExternalSecret Ready in {ns}", lambda: _ready(plane.get(path) or {}) or None)


def install(
    plane: ControlPlane,
    stub: AnalysisStub,
    overlay: str,
    ns: str,
    label: str,
    *,
    at_once: bool = False,
) -> str:
    """A namespace running the overlay at the digest for `label`, Healthy; its pod hash.

    `at_once` applies everything in one go, as `kubectl apply` without Argo CD would: the
    migration pod then runs beside Services and the PDB (selectors must hold in any order).
    """
    namespace(plane, ns)
    if at_once:
        plane.apply(pointed_at(rendered(overlay, digest(label)), stub), ns)
        plane.wait(f"Job {JOB} complete in {ns}", lambda: job_complete(plane, ns))
    else:
        release(plane, stub, overlay, ns, digest(label))
    return wait_phase(plane, ns, "Healthy")["status"]["currentPodHash"]


def job_complete(plane: ControlPlane, ns: str) -> bool | None:
    """True once the migration Job has succeeded."""
    job = plane.get(f"/apis/batch/v1/namespaces/{ns}/jobs/{JOB}") or {}
    conditions = job.get("status", {}).get("conditions", [])
    return (
        True if any(c["type"] == "Complete" and c["status"] == "True" for c in conditions) else None
    )


def rollout(plane: ControlPlane, ns: str) -> Manifest:
    """The Rollout as the API has it now."""
    found = plane.get(ROLLOUTS.format(ns=ns, kind="rollouts") + f"/{NAME}")
    assert found is not None, f"no Rollout in {ns}"
    return found


def wait_phase(plane: ControlPlane, ns: str, phase: str, timeout: float = 180) -> Manifest:
    """The Rollout once the controller has seen its latest spec and reports `phase`."""

    def reached() -> Manifest | None:
        current = rollout(plane, ns)
        status = current.get("status", {})
        seen = str(status.get("observedGeneration")) == str(current["metadata"]["generation"])
        return current if seen and status.get("phase") == phase else None

    try:
        return plane.wait(f"Rollout {phase} in {ns}", reached, timeout)
    except AssertionError as exc:
        raise AssertionError(f"{exc}; it is:\n{dump(rollout(plane, ns).get('status'))}") from None


def selected_hash(plane: ControlPlane, ns: str, service: str) -> str | None:
    """The ReplicaSet hash the Service selects (the Rollouts controller sets it)."""
    found = plane.get(f"/api/v1/namespaces/{ns}/services/{service}") or {}
    return found.get("spec", {}).get("selector", {}).get(HASH)


def analysis_runs(plane: ControlPlane, ns: str) -> list[Manifest]:
    """The AnalysisRuns in the namespace, oldest first."""
    found = plane.get(ROLLOUTS.format(ns=ns, kind="analysisruns")) or {"items": []}
    return sorted(found["items"], key=lambda r: r["metadata"]["creationTimestamp"])


def runs_for(plane: ControlPlane, ns: str, pod_hash: str) -> dict[str, str]:
    """{PrePromotion|PostPromotion: phase} of the AnalysisRuns for one ReplicaSet."""
    return {
        run["metadata"]["labels"].get("rollout-type", "?"): run.get("status", {}).get("phase", "")
        for run in analysis_runs(plane, ns)
        if run["metadata"]["labels"].get(HASH) == pod_hash
    }


def promote(plane: ControlPlane, ns: str) -> None:
    """What `kubectl argo rollouts promote` does to a paused blue/green Rollout (its
    getPatches, argo-rollouts v1.10.2 pkg/kubectl-argo-rollouts/cmd/promote)."""
    resource = f"rollout.argoproj.io/{NAME}"
    if rollout(plane, ns)["spec"].get("paused"):
        plane.kubectl(
            "patch", resource, "-n", ns, "--type=merge", "-p", '{"spec":{"paused":false}}'
        )
    plane.kubectl(
        "patch",
        resource,
        "-n",
        ns,
        "--subresource=status",
        "--type=merge",
        "-p",
        '{"status":{"pauseConditions":null}}',
    )
