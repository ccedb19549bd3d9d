"""Argo CD syncs each environment from Git automatically, inside one AppProject."""

from __future__ import annotations

import pytest

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
