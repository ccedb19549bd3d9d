"""Argo CD syncs each environment from Git automatically, inside one AppProject."""

from __future__ import annotations

import re

import pytest
from pipeline.argocd import POLL_SECONDS

from tests.k8s.manifests import K8S, OVERLAYS, ROOT, Manifest, find, load, render

APPS = K8S / "argocd" / "apps"


def applications() -> list[Manifest]:
    """The per-environment Applications."""
    return [d for p in sorted(APPS.glob("*.yaml")) for d in load(p) if d["kind"] == "Application"]


def project() -> Manifest:
    """The AppProject."""
    return find(load(APPS / "project.yaml"), "AppProject")


@pytest.mark.parametrize("app", applications(), ids=lambda a: a["metadata"]["name"])
def test_application_syncs_automatically(app: Manifest) -> None:
    """Automated sync with prune, self-heal, retry with backoff and CreateNamespace."""
    policy = app["spec"]["syncPolicy"]
    assert policy["automated"] == {"prune": True, "selfHeal": True}
    assert "CreateNamespace=true" in policy["syncOptions"]
    assert {"duration", "factor", "maxDuration"} <= set(policy["retry"]["backoff"])


def test_one_application_per_overlay() -> None:
    """Each overlay has exactly one Application, whose path is that overlay."""
    paths = sorted(app["spec"]["source"]["path"] for app in applications())
    assert paths == sorted(f"k8s/overlays/{overlay}" for overlay in OVERLAYS)
    assert all((ROOT / path / "kustomization.yaml").is_file() for path in paths)


@pytest.mark.parametrize("app", applications(), ids=lambda a: a["metadata"]["name"])
def test_project_allows_the_application(app: Manifest) -> None:
    """The AppProject allows the Application's repository and destination."""
    spec = project()["spec"]
    assert app["spec"]["project"] == project()["metadata"]["name"]
    assert app["spec"]["source"]["repoURL"] in spec["sourceRepos"]
    assert app["spec"]["destination"] in spec["destinations"]


def test_project_allows_every_rendered_kind() -> None:
    """Every kind an overlay renders is on the project's namespace whitelist."""
    allowed = {(k["group"], k["kind"]) for k in project()["spec"]["namespaceResourceWhitelist"]}
    for overlay in OVERLAYS:
        rendered = {(d["apiVersion"].rpartition("/")[0], d["kind"]) for d in render(overlay)}
        assert rendered <= allowed, f"{overlay}: not allowed {rendered - allowed}"


def test_app_of_apps_manages_the_apps_folder() -> None:
    """The root Application syncs k8s/argocd/apps, which holds the project and both apps."""
    root = find(load(K8S / "argocd" / "root.yaml"), "Application")
    assert root["spec"]["source"]["path"] == "k8s/argocd/apps"
    assert root["spec"]["syncPolicy"]["automated"] == {"prune": True, "selfHeal": True}


IGNORE_HEALTH = "argocd.argoproj.io/ignore-healthcheck"


def test_the_pdb_never_sets_the_application_health(docs: list[Manifest]) -> None:
    """A blue/green rollout leaves the PDB 0 disruptions allowed; that is not Degraded.

    The disruption controller sets DisruptionAllowed=False while preview pods start, and
    Argo CD's PodDisruptionBudget health check (resource_customizations/policy/
    PodDisruptionBudget/health.lua; before argo-cd#20171 for any reason) reads that as
    Degraded, which the Application's aggregated health would take as its own.
    controller/health.go skips a resource annotated ignore-healthcheck "true".
    """
    pdb = find(docs, "PodDisruptionBudget")
    assert pdb["metadata"].get("annotations", {}).get(IGNORE_HEALTH) == "true"


def test_only_the_pdb_is_left_out_of_health(docs: list[Manifest]) -> None:
    """The Rollout, the ExternalSecret and the rest still count: nothing else is ignored."""
    ignored = [d["kind"] for d in docs if d["metadata"].get("annotations", {}).get(IGNORE_HEALTH)]
    assert ignored == ["PodDisruptionBudget"]


def seconds(duration: str) -> int:
    """A Go duration of whole seconds or minutes ("10s", "1m", "1m30s")."""
    parts = re.fullmatch(r"(?:(\d+)m)?(?:(\d+)s)?", duration) if duration else None
    assert parts, f"not a duration of minutes and seconds: {duration!r}"
    return int(parts[1] or 0) * 60 + int(parts[2] or 0)


@pytest.mark.parametrize("app", applications(), ids=lambda a: a["metadata"]["name"])
def test_a_failed_sync_is_retried_briefly(app: Manifest) -> None:
    """At most two retries and 90 s of backoff after a failed sync; each wait >= 20 s.

    Argo CD retries the SAME revision while the operation lasts, and skips auto-sync
    while an operation is in progress (controller/appcontroller.go, autoSync): a revert
    pushed after a failed migration waits for those retries. The migration Job retries
    its own pod (backoffLimit), so a long retry policy only delays the revert. The
    operation shows "Retrying attempt #N" during each wait: at least two of deploy
    --wait's polls (argocd.POLL_SECONDS) see it.
    """
    retry = app["spec"]["syncPolicy"]["retry"]
    backoff = retry["backoff"]
    waits = [
        min(seconds(backoff["duration"]) * int(backoff["factor"]) ** i,
            seconds(backoff["maxDuration"]))
        for i in range(int(retry["limit"]))
    ]  # fmt: skip
    assert 1 <= int(retry["limit"]) <= 2, retry
    assert sum(waits) <= 90, waits
    assert min(waits) >= 2 * POLL_SECONDS, waits
