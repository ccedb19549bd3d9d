"""Checkov finds no failed check in the rendered overlays, except skips with a reason."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from tests.k8s.manifests import K8S, Manifest, find, run, tool

SKIPS = yaml.safe_load((K8S / "checkov-skips.yaml").read_text())


def as_deployment(rollout: Manifest) -> Manifest:
    """The Rollout's pods seen as a Deployment: checkov has no pod checks for Rollouts."""
    spec = {k: rollout["spec"][k] for k in ("selector", "template")}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": rollout["metadata"],
        "spec": spec,
    }


def failed_checks(docs: list[Manifest], tmp_path: Path) -> list[str]:
    """`check id: resource` for each check checkov fails, skips applied."""
    path = tmp_path / "rendered.yaml"
    path.write_text(yaml.safe_dump_all([*docs, as_deployment(find(docs, "Rollout"))]))
    args = ["-f", str(path), "--framework", "kubernetes", "--skip-download", "--quiet"]
    result = run(tool("checkov"), *args, "--skip-check", ",".join(SKIPS), "-o", "json")
    assert result.stdout.startswith("{"), f"checkov did not report:\n{result.stderr[-2000:]}"
    report = json.loads(result.stdout)
    assert report["summary"]["resource_count"] > len(docs), "checkov skipped some objects"
    checks = report["results"]["failed_checks"]
    return [f"{c['check_id']}: {c['resource']} ({c['check_name']})" for c in checks]


def test_every_skip_has_a_reason() -> None:
    """Each skipped check id is written down with why it does not apply."""
    assert SKIPS, "the skip file is empty or missing"
    assert all(key.startswith("CKV_") and len(reason) > 40 for key, reason in SKIPS.items())


def test_checkov_passes(docs: list[Manifest], tmp_path: Path) -> None:
    """No failed policy check on the overlay (pods of the Rollout included)."""
    assert failed_checks(docs, tmp_path) == []
