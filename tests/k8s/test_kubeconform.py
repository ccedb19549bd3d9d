"""kubeconform -strict passes on both overlays and on k8s/argocd, with the CRD schemas.

The schemas are written offline (tests/k8s/kubeconform_schemas.py): Kubernetes 1.37's
strict schemas from kubernetes-validate, and the Argo Rollouts and Argo CD CRD schemas.
ExternalSecret (external-secrets.io/v1) is skipped here: no package on a registry this
project reaches ships its v1 CRD schema as data; test_schemas.py checks it with the
compiled @kubernetes-models/external-secrets 2.0.0 validator instead.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import missing
from tests.k8s import kubeconform_schemas as schemas
from tests.k8s.manifests import ARGOCD_FILES, OVERLAYS, Manifest, load, render, run, tool

KUBERNETES_VERSION = "1.37.0"
SKIPPED = {"ExternalSecret"}  # see the module docstring


def kubernetes_validate_schemas() -> Path:
    """kubernetes-validate's strict schemas for KUBERNETES_VERSION."""
    venv = Path(tool("kubernetes-validate")).resolve().parents[1]
    package = "lib/python*/site-packages/kubernetes_validate/kubernetes-json-schema"
    (found,) = venv.glob(f"{package}/v{KUBERNETES_VERSION}-local-strict")
    return found


def crd_schema_packages() -> Path:
    """The @kubernetes-models packages scripts/tools/k8s.sh installs beside kubeconform."""
    models = Path(tool("kubeconform")).resolve().parents[1] / "crd-schemas/node_modules"
    if not models.is_dir():
        missing(f"{models} not found: run scripts/tools/k8s.sh")
    return models / "@kubernetes-models"


@pytest.fixture(scope="module")
def schema_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The schemas in kubeconform's layout, written once for this module."""
    out = tmp_path_factory.mktemp("kubeconform-schemas")
    core = kubernetes_validate_schemas()
    schemas.write_core(core, out)
    models = crd_schema_packages()
    definitions = json.loads((core / "_definitions.json").read_text())["$defs"]
    schemas.write_crds(models, definitions, out)
    return out


def kubeconform(docs: list[Manifest], schema_dir: Path, tmp_path: Path) -> dict[str, Any]:
    """kubeconform -strict's JSON report on the objects."""
    path = tmp_path / "objects.yaml"
    path.write_text(yaml.safe_dump_all(docs))
    locations = [f"{schema_dir}/{schemas.CORE_LOCATION}", f"{schema_dir}/{schemas.CRD_LOCATION}"]
    args = [tool("kubeconform"), "-strict", "-summary", "-output", "json"]
    args += ["-kubernetes-version", KUBERNETES_VERSION, "-skip", ",".join(sorted(SKIPPED))]
    for location in locations:
        args += ["-schema-location", location]
    result = run(*args, str(path))
    assert result.stdout.startswith("{"), result.stderr
    return dict(json.loads(result.stdout))


def problems(report: dict[str, Any]) -> list[str]:
    """One line per object kubeconform found invalid or could not check."""
    return [f"{r['kind']}/{r['name']}: {r.get('msg')}" for r in report.get("resources") or []
            if r["status"] in ("statusInvalid", "statusError")]  # fmt: skip


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_overlay_is_valid(overlay: str, schema_dir: Path, tmp_path: Path) -> None:
    """Every object valid; only the kinds without a schema skipped."""
    docs = list(render(overlay))
    report = kubeconform(docs, schema_dir, tmp_path)
    assert not problems(report)
    skipped = sum(d["kind"] in SKIPPED for d in docs)
    assert report["summary"] == {"valid": len(docs) - skipped, "invalid": 0, "errors": 0,
                                 "skipped": skipped}  # fmt: skip


def test_argocd_objects_are_valid(schema_dir: Path, tmp_path: Path) -> None:
    """The root Application, the AppProject and both Applications."""
    docs = [doc for path in ARGOCD_FILES for doc in load(path)]
    report = kubeconform(docs, schema_dir, tmp_path)
    assert not problems(report)
    assert report["summary"]["valid"] == len(docs)


def test_a_misspelled_rollout_field_is_rejected(schema_dir: Path, tmp_path: Path) -> None:
    """The CRD check is strict: an unknown blueGreen field fails it."""
    rollout = json.loads(json.dumps(next(d for d in render("staging") if d["kind"] == "Rollout")))
    rollout["spec"]["strategy"]["blueGreen"]["scaleDownDelaySecond"] = 30
    assert "scaleDownDelaySecond" in " ".join(
        problems(kubeconform([rollout], schema_dir, tmp_path))
    )


def test_a_misspelled_core_field_is_rejected(schema_dir: Path, tmp_path: Path) -> None:
    """The built-in check is strict too."""
    service = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "x"}}
    service["spec"] = {"ports": [{"port": 80, "targetPrt": 8000}]}
    assert "targetPrt" in " ".join(problems(kubeconform([service], schema_dir, tmp_path)))


def test_a_kind_without_schema_is_an_error(schema_dir: Path, tmp_path: Path) -> None:
    """A kind with no schema is never silently valid."""
    unknown = {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "x"}}
    assert problems(kubeconform([unknown], schema_dir, tmp_path))
