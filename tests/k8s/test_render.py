"""The overlays render with a real kustomize, using only current kustomize fields."""

from __future__ import annotations

import re

import yaml

from tests.k8s.manifests import K8S, Manifest, find

CURRENT_FIELDS = {"apiVersion", "kind", "resources", "patches", "images", "labels"}
DIGEST = re.compile(r"^[\w.-]+(?:/[\w.-]+)+@sha256:[0-9a-f]{64}$")


def images(docs: list[Manifest]) -> list[str]:
    """Every container image of the rendered workloads."""
    specs = [d["spec"]["template"]["spec"] for d in docs if d["kind"] in ("Rollout", "Job")]
    return [c["image"] for spec in specs for c in spec["containers"]]


def test_kustomizations_use_only_current_fields() -> None:
    """No deprecated field (bases, commonLabels, patchesStrategicMerge, vars...)."""
    for path in K8S.rglob("kustomization.yaml"):
        fields = set(yaml.safe_load(path.read_text())) - {"configurations"}
        assert fields <= CURRENT_FIELDS, f"{path}: unexpected {fields - CURRENT_FIELDS}"


def test_images_are_pinned_by_digest(docs: list[Manifest]) -> None:
    """The Rollout and the migration Job run the overlay's image by digest, never a tag."""
    assert len(images(docs)) == 2, "expected the api and the migrate container"
    for image in images(docs):
        assert DIGEST.match(image), f"{image} is not pinned by digest"


def test_overlay_images_entry_is_editable(overlay: str) -> None:
    """One `images:` entry with newName and digest: what `dagger call deploy` rewrites."""
    kustomization = yaml.safe_load((K8S / "overlays" / overlay / "kustomization.yaml").read_text())
    (entry,) = kustomization["images"]
    assert set(entry) == {"name", "newName", "digest"}, f"{overlay}: {entry}"
    assert re.fullmatch(r"sha256:[0-9a-f]{64}", entry["digest"]), entry["digest"]


def test_every_object_carries_the_environment_label(overlay: str, docs: list[Manifest]) -> None:
    """`labels:` reaches every object, so each one says which environment it belongs to."""
    for doc in docs:
        labels = doc["metadata"].get("labels", {})
        assert labels.get("app.kubernetes.io/environment") == overlay, doc["metadata"]["name"]


def test_rollout_pods_carry_the_base_labels(docs: list[Manifest]) -> None:
    """The Rollout transformer config lets base `labels:` reach the Rollout's pod template."""
    labels = find(docs, "Rollout")["spec"]["template"]["metadata"]["labels"]
    assert labels.get("app.kubernetes.io/part-of") == "hello-world-api", labels
