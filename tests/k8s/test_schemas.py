"""Rendered objects validate against the Kubernetes and CRD schemas."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from tests.k8s.manifests import ARGOCD_FILES, Manifest, load, run, tool

KUBERNETES_VERSION = "1.37.0"
CUSTOM_KINDS = {"Rollout", "AnalysisTemplate", "ExternalSecret", "Application", "AppProject"}


def kubernetes_validate(docs: list[Manifest], tmp_path: Path) -> str:
    """Problems kubernetes-validate --strict finds; empty when all pass."""
    path = tmp_path / "objects.yaml"
    path.write_text(yaml.safe_dump_all(docs))
    validate = tool("kubernetes-validate")
    result = run(validate, "--strict", "--quiet", "-k", KUBERNETES_VERSION, str(path))
    return "" if result.returncode == 0 else result.stdout + result.stderr


def crd_validate(docs: list[Manifest]) -> str:
    """Problems the CRD schemas find; empty when all pass."""
    result = run(tool("crd-validate"), stdin=json.dumps(docs))
    return "" if result.returncode == 0 else result.stdout + result.stderr


def test_builtin_kinds_are_valid(docs: list[Manifest], tmp_path: Path) -> None:
    """Every built-in object is valid Kubernetes, with no unknown field."""
    builtin = [d for d in docs if d["kind"] not in CUSTOM_KINDS]
    assert not kubernetes_validate(builtin, tmp_path)


def test_rollout_pod_template_is_a_valid_pod_template(rollout: Manifest, tmp_path: Path) -> None:
    """The CRD schema leaves the pod template loose: check it as a core PodTemplate."""
    template = {"apiVersion": "v1", "kind": "PodTemplate", "metadata": {"name": "rollout"}}
    template["template"] = rollout["spec"]["template"]
    assert not kubernetes_validate([template], tmp_path)


def test_strict_validation_rejects_a_misspelled_field(tmp_path: Path) -> None:
    """The built-in check is really strict: an unknown field fails it."""
    service = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "x"}}
    service["spec"] = {"ports": [{"port": 80, "targetPrt": 8000}]}
    assert "targetPrt" in kubernetes_validate([service], tmp_path)


def test_custom_resources_match_their_crd_schemas(docs: list[Manifest]) -> None:
    """Rollout, AnalysisTemplates and ExternalSecret match the CRD schemas."""
    custom = [d for d in docs if d["kind"] in CUSTOM_KINDS]
    assert {d["kind"] for d in custom} == {"Rollout", "AnalysisTemplate", "ExternalSecret"}
    assert not crd_validate(custom)


def test_argocd_objects_match_their_crd_schemas() -> None:
    """The AppProject and every Application match the Argo CD CRD schemas."""
    assert not crd_validate([doc for path in ARGOCD_FILES for doc in load(path)])


def test_crd_validation_rejects_a_wrong_type(rollout: Manifest) -> None:
    """The CRD check really validates: a string where a boolean belongs fails it."""
    broken = json.loads(json.dumps(rollout))
    broken["spec"]["strategy"]["blueGreen"]["autoPromotionEnabled"] = "no"
    assert "autoPromotionEnabled must be boolean" in crd_validate([broken])
