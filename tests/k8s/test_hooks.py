"""Migrations run as an Argo CD PreSync hook, after the database Secret exists."""

from __future__ import annotations

from tests.k8s.manifests import Manifest, find

HOOK = "argocd.argoproj.io/hook"
WAVE = "argocd.argoproj.io/sync-wave"


def secret_refs(spec: Manifest) -> set[str]:
    """Secrets a pod spec reads through envFrom."""
    return {
        e["secretRef"]["name"] for c in spec["containers"] for e in c["envFrom"] if "secretRef" in e
    }


def test_migration_job_is_a_presync_hook(docs: list[Manifest]) -> None:
    """The Job runs `hello-api migrate` before Argo CD applies the new Rollout."""
    job = find(docs, "Job", "hello-world-api-migrate")
    assert job["metadata"]["annotations"][HOOK] == "PreSync"
    assert "argocd.argoproj.io/hook-delete-policy" in job["metadata"]["annotations"]
    assert job["spec"]["template"]["spec"]["containers"][0]["command"] == ["hello-api", "migrate"]


def test_rollout_serves(rollout: Manifest) -> None:
    """The Rollout's container runs `hello-api serve`, never migrations."""
    assert rollout["spec"]["template"]["spec"]["containers"][0]["command"] == ["hello-api", "serve"]


def test_database_secret_comes_before_the_migration(docs: list[Manifest]) -> None:
    """The ExternalSecret is a PreSync hook in an earlier wave than the migration Job."""
    secret, job = find(docs, "ExternalSecret"), find(docs, "Job", "hello-world-api-migrate")
    assert secret["metadata"]["annotations"][HOOK] == "PreSync"
    wave = int(secret["metadata"]["annotations"][WAVE])
    assert wave < int(job["metadata"]["annotations"].get(WAVE, "0")), "secret must be synced first"


def test_pods_read_the_secret_the_external_secret_writes(
    docs: list[Manifest], rollout: Manifest
) -> None:
    """The Rollout and the Job read exactly the Secret the ExternalSecret creates."""
    target = find(docs, "ExternalSecret")["spec"]["target"]["name"]
    assert secret_refs(rollout["spec"]["template"]["spec"]) == {target}
    assert secret_refs(find(docs, "Job")["spec"]["template"]["spec"]) == {target}


def test_external_secret_reads_its_own_environment(overlay: str, docs: list[Manifest]) -> None:
    """Staging and production read different credentials from the store."""
    (source,) = find(docs, "ExternalSecret")["spec"]["dataFrom"]
    assert f"/{overlay}/" in source["extract"]["key"], source
